//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package fakeorbctl

import (
	"errors"
	"os"
	"syscall"
)

func flock(*os.File) error { return errors.New("fakeorbctl: file locking needs Linux or a BSD") }

func isTerminal(*os.File) bool { return false }

func childSysProcAttr() *syscall.SysProcAttr { return nil }

func killSession(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
