package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// Garbage collector settings of kopru run. Its live heap is small (a few MiB: events in flight, the
// HTTP and NATS buffers), so the default GOGC of 100 collects several times a second under load and
// spends a tenth of the process's CPU doing it. kopru run collects at GOGC=400 instead, and bounds the
// heap with a soft memory limit: 90% of the container's memory limit (cgroup v2 memory.max, or v1
// memory.limit_in_bytes) when there is one. GOGC and GOMEMLIMIT, when set, win.
const (
	runGCPercent   = 400
	memLimitShare  = 0.9
	cgroupV2Max    = "/sys/fs/cgroup/memory.max"
	cgroupV1Limit  = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	noCgroupLimits = 1 << 60 // cgroup v1 writes a huge number for "no limit"
)

// tuneGC applies the settings above and says what it chose, for the start-up log.
func tuneGC(getenv func(string) string, readFile func(string) ([]byte, error)) string {
	var said []string
	if getenv("GOGC") == "" {
		debug.SetGCPercent(runGCPercent)
		said = append(said, fmt.Sprintf("GOGC=%d", runGCPercent))
	} else {
		said = append(said, "GOGC="+getenv("GOGC")+" (environment)")
	}
	if getenv("GOMEMLIMIT") != "" {
		return strings.Join(append(said, "GOMEMLIMIT="+getenv("GOMEMLIMIT")+" (environment)"), ", ")
	}
	if limit, ok := containerMemory(readFile); ok {
		soft := int64(float64(limit) * memLimitShare)
		debug.SetMemoryLimit(soft)
		said = append(said, fmt.Sprintf("GOMEMLIMIT=%dMiB (90%% of the container's %dMiB)", soft>>20, limit>>20))
	}
	return strings.Join(said, ", ")
}

// containerMemory is the cgroup's memory limit in bytes, if it has one.
func containerMemory(readFile func(string) ([]byte, error)) (int64, bool) {
	for _, path := range []string{cgroupV2Max, cgroupV1Limit} {
		b, err := readFile(path)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v >= noCgroupLimits { // "max", or v1's "unlimited"
			return 0, false
		}
		return v, true
	}
	return 0, false
}
