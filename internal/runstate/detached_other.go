//go:build !unix

package runstate

import "syscall"

func detached() *syscall.SysProcAttr { return nil }
