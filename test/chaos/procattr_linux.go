//go:build linux

package chaos

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes a worker die with the harness, so an interrupted run leaves no orphans.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
