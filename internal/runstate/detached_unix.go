//go:build unix

package runstate

import "syscall"

// detached puts the reaper in its own session, so the signals that stop a
// test run (SIGINT from a terminal, a CI job's process-group kill) miss it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
