package fakeorbctl

import (
	"os"
	"syscall"
	"unsafe"
)

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// childSysProcAttr puts the command that "run" starts in a session of its
// own, as OrbStack's SSH server does; it outlives a killed client.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// killSession ends the session whose leader is pid, all of it.
func killSession(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
