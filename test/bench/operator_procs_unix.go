//go:build unix && !linux

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// childProcAttr puts a child in its own process group, so a Ctrl-C on the terminal reaches only the
// bench, which then stops it. (There is no Pdeathsig here: a killed bench leaves its children.)
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// peakRSSMiB is the peak resident set of a finished child (ru_maxrss: bytes on macOS, KiB elsewhere).
func peakRSSMiB(ps *os.ProcessState) float64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}
