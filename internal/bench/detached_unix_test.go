//go:build unix

package bench

import "syscall"

// detached puts the reaper in its own session, so the signals that stop a
// benchmark run (SIGINT from a terminal) miss it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
