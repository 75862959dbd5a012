package main

import (
	"errors"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	said := tuneGC(env(nil), files(map[string]string{cgroupV2Max: "536870912\n"}))
	if got := debug.SetGCPercent(100); got != runGCPercent {
		t.Fatalf("GOGC %d, want %d (%s)", got, runGCPercent, said)
	}
	if got := debug.SetMemoryLimit(-1); got != 483183820 || !strings.Contains(said, "GOMEMLIMIT=460MiB") {
		t.Fatalf("memory limit %d: %s", got, said)
	}

	debug.SetMemoryLimit(1 << 62)
	said = tuneGC(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}), files(map[string]string{cgroupV2Max: "536870912"}))
	if got := debug.SetGCPercent(100); got != 100 || debug.SetMemoryLimit(-1) != 1<<62 || !strings.Contains(said, "(environment)") {
		t.Fatalf("the environment's GOGC/GOMEMLIMIT did not win: GOGC %d, %s", got, said)
	}

	for _, content := range []string{"max\n", "9223372036854771712"} { // v2 "no limit", v1 "no limit"
		if _, ok := containerMemory(files(map[string]string{cgroupV2Max: content})); ok {
			t.Fatalf("%q read as a limit", content)
		}
	}
	if v, ok := containerMemory(files(map[string]string{cgroupV1Limit: "268435456"})); !ok || v != 268435456 {
		t.Fatalf("cgroup v1 limit: %d %v", v, ok)
	}
	if _, ok := containerMemory(func(string) ([]byte, error) { return nil, errors.New("no cgroup") }); ok {
		t.Fatal("a limit without cgroup files")
	}
}
