// Package goexec is Linux-only code tested where it runs: its tests read
// PID 1, the cgroup hierarchy and the kernel's links over netlink, and
// need root, so they run in an orbtest machine, from any host:
//
//	GOOS=linux go test -exec "orbtest exec" ./examples/goexec
//
// orbtest exec runs the package's test binary in a pool machine, in a copy
// of the package directory (testdata/ included) under /tmp/orbtest-go/src,
// as root. Elsewhere (a plain go test on the host) those tests skip, and
// TestInAMachine runs them in a machine it leases itself, with
// orbtest.GoTest.
package goexec_test

import (
	"os"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/orbtest"
)

// guestDir is where orbtest exec and orbtest.GoTest put package
// directories in the machine.
const guestDir = "/tmp/orbtest-go/src/"

// inMachine reports whether the test binary runs in an orbtest machine:
// in a copy of its package directory under guestDir.
func inMachine() bool {
	wd, err := os.Getwd()
	return err == nil && strings.HasPrefix(wd, guestDir)
}

// linuxOnly skips t unless it runs in an orbtest machine.
func linuxOnly(t *testing.T) {
	t.Helper()
	if !inMachine() {
		t.Skip(`skipping test: it needs a Linux machine with systemd and root; run it with GOOS=linux go test -exec "orbtest exec" (TestInAMachine runs it in one)`)
	}
}

// TestInAMachine runs this package's Linux-only tests in a machine of the
// pool from a plain go test on the host: each guest test's result is in
// this test's log, and a failing one fails it.
func TestInAMachine(t *testing.T) {
	if inMachine() {
		t.Skip("skipping test: already in the machine")
	}
	if testing.Short() {
		t.Skip("skipping test: builds this package's tests and runs them in a machine")
	}
	vm := orbtest.NewVM(t, orbtest.Debian("bookworm"))
	orbtest.GoTest(t, vm, ".") // in the machine, this test skips
}
