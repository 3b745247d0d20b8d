//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package fakeorbctl

import (
	"os"
	"syscall"
)

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}
