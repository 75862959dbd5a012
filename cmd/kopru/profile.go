package main

import (
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// startProfiles starts the profiles the environment asks for (KOPRU_CPUPROFILE: a CPU profile,
// KOPRU_MEMPROFILE: an allocation profile written at exit; "%p" in a path is the process id) and
// returns what stops and writes them. For
// measuring the hot path under load (make bench: test/bench TestOperator); unset, it does nothing.
func startProfiles() (stop func()) {
	var cpu *os.File
	if path := profilePath("KOPRU_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			_ = cpu.Close()
		}
		if path := profilePath("KOPRU_MEMPROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}
	}
}

func profilePath(env string) string {
	return strings.ReplaceAll(os.Getenv(env), "%p", strconv.Itoa(os.Getpid()))
}
