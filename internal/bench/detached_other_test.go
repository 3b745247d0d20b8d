//go:build !unix

package bench

import "syscall"

func detached() *syscall.SysProcAttr { return nil }
