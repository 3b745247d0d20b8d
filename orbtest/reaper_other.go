//go:build !unix

package orbtest

import "syscall"

func detached() *syscall.SysProcAttr { return nil }
