//go:build !unix

package bench

import (
	"os"
	"syscall"
)

// childProcAttr has nothing to set where there are no process groups (Windows).
func childProcAttr() *syscall.SysProcAttr { return nil }

// peakRSSMiB is not measured here: 0.
func peakRSSMiB(*os.ProcessState) float64 { return 0 }
