package bench

import (
	"os"
	"syscall"
)

// childProcAttr puts a child in its own process group, so a Ctrl-C on the terminal reaches only the
// bench, which then stops it; Pdeathsig: the child dies with the bench even if the bench is killed.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// peakRSSMiB is the peak resident set of a finished child (Linux counts ru_maxrss in KiB).
func peakRSSMiB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
