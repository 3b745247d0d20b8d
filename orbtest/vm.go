package orbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// VM is a machine leased to a test. Its methods are safe for concurrent use
// by multiple goroutines. A VM from [NewVM] belongs to its test, which
// deletes it (or keeps it, see [WithKeep]) when the test ends; a VM from
// [StartVM] belongs to the caller, who must call [VM.Delete].
type VM struct {
	name   string
	spec   Spec
	driver backend.Driver
	logf   func(format string, args ...any)

	mu      sync.Mutex
	addr    string
	deleted bool
	kept    bool
}

// Name returns the machine's name, such as "orbtest-3f9a1c2e-8b1d0f-a41c09".
func (vm *VM) Name() string { return vm.name }

// Spec returns the spec the machine was built from.
func (vm *VM) Spec() Spec { return vm.spec }

// Backend returns the name of the backend that runs the machine:
// "orbstack" or "incus".
func (vm *VM) Backend() string { return vm.driver.Name() }

// Address returns the address at which the host reaches the machine: its
// IPv4 address, or on OrbStack NAME.orb.local when the backend reports no
// address.
func (vm *VM) Address() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.addr
}

// ShellCommand returns the command line that opens a shell in the machine,
// for logs and for debugging a kept machine.
func (vm *VM) ShellCommand() string { return vm.driver.ShellCommand(vm.name) }

func (vm *VM) lookupAddress(ctx context.Context) (string, error) {
	if a := vm.Address(); a != "" {
		return a, nil
	}
	m, err := vm.driver.Inspect(ctx, vm.name)
	if err != nil {
		return "", err
	}
	addr := m.IP4
	if addr == "" && vm.driver.Name() == "orbstack" {
		addr = vm.name + ".orb.local"
	}
	if addr == "" {
		return "", errors.New("the backend reports no IPv4 address yet")
	}
	vm.mu.Lock()
	vm.addr = addr
	vm.mu.Unlock()
	return addr, nil
}

// Exec runs c in the machine and waits for it. When the command exits
// non-zero, Exec returns its Result and an [*ExitError]; when it cannot be
// run at all, a nil Result and an error that says why. A command is never
// retried.
func (vm *VM) Exec(ctx context.Context, c Cmd) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("orbtest: machine %q: %w", vm.name, err)
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code, err := vm.driver.Exec(ctx, vm.name, backend.ExecRequest{
		Argv: c.argv, User: c.user, Dir: c.dir, Env: c.env,
		Stdin: c.stdin, Stdout: &stdout, Stderr: &stderr,
	})
	res := &Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code, Duration: time.Since(start)}
	if err != nil {
		return nil, fmt.Errorf("orbtest: machine %q: run %s: %w", vm.name, c, err)
	}
	if code != 0 {
		return res, &ExitError{Machine: vm.name, Cmd: c.String(), Result: res}
	}
	return res, nil
}

// Run runs the program name with args in the machine as the default user,
// without a shell. It is Exec(ctx, Command(name, args...)).
func (vm *VM) Run(ctx context.Context, name string, args ...string) (*Result, error) {
	return vm.Exec(ctx, Command(name, args...))
}

// Shell runs script through sh -c in the machine as the default user. It
// is Exec(ctx, ShellCommand(script)).
func (vm *VM) Shell(ctx context.Context, script string) (*Result, error) {
	return vm.Exec(ctx, ShellCommand(script))
}

// MustExec is like [VM.Exec] but fails the test when the command cannot
// run or exits non-zero. It uses t.Context().
func (vm *VM) MustExec(t testing.TB, c Cmd) *Result {
	t.Helper()
	res, err := vm.Exec(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// MustRun is like [VM.Run] but fails the test on error, and returns the
// command's standard output.
func (vm *VM) MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	return vm.MustExec(t, Command(name, args...)).Stdout
}

// MustShell is like [VM.Shell] but fails the test on error, and returns the
// script's standard output.
func (vm *VM) MustShell(t testing.TB, script string) string {
	t.Helper()
	return vm.MustExec(t, ShellCommand(script)).Stdout
}

// Push copies the host file hostPath into the machine at the absolute path
// guestPath. Paths may hold spaces, quotes and any Unicode.
func (vm *VM) Push(ctx context.Context, hostPath, guestPath string) error {
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return fmt.Errorf("orbtest: machine %q: push %q: %w", vm.name, hostPath, err)
	}
	if _, err := os.Stat(hostPath); err != nil {
		return fmt.Errorf("orbtest: machine %q: push: %w", vm.name, err)
	}
	if err := vm.driver.Push(ctx, vm.name, hostPath, guestPath); err != nil {
		return fmt.Errorf("orbtest: machine %q: push %q to %q: %w", vm.name, hostPath, guestPath, err)
	}
	return nil
}

// Pull copies the file at the absolute guestPath in the machine to the host
// file hostPath.
func (vm *VM) Pull(ctx context.Context, guestPath, hostPath string) error {
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return fmt.Errorf("orbtest: machine %q: pull %q: %w", vm.name, guestPath, err)
	}
	if err := vm.driver.Pull(ctx, vm.name, guestPath, hostPath); err != nil {
		return fmt.Errorf("orbtest: machine %q: pull %q to %q: %w", vm.name, guestPath, hostPath, err)
	}
	return nil
}

// MustPush is like [VM.Push] but fails the test on error.
func (vm *VM) MustPush(t testing.TB, hostPath, guestPath string) {
	t.Helper()
	if err := vm.Push(t.Context(), hostPath, guestPath); err != nil {
		t.Fatal(err)
	}
}

// MustPull is like [VM.Pull] but fails the test on error.
func (vm *VM) MustPull(t testing.TB, guestPath, hostPath string) {
	t.Helper()
	if err := vm.Pull(t.Context(), guestPath, hostPath); err != nil {
		t.Fatal(err)
	}
}

// Delete deletes the machine. It is idempotent: deleting a machine that is
// already gone returns nil. Transient backend failures are retried within
// ctx.
func (vm *VM) Delete(ctx context.Context) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.deleted {
		return nil
	}
	err := retry(ctx, func(ctx context.Context) error { return vm.driver.Delete(ctx, vm.name) })
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return fmt.Errorf("orbtest: delete machine %q: %w (delete it by hand: %s)", vm.name, err, vm.driver.DeleteCommand(vm.name))
	}
	vm.deleted = true
	return nil
}
