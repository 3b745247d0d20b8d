//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package fakeorbctl

import (
	"os"
	"syscall"
	"unsafe"
)

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCGETA, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

func childSysProcAttr() *syscall.SysProcAttr { return nil }
