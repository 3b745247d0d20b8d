package orbtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
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

	// What a boot waits for (Restart, Start): the spec's WithReady checks
	// and the bounds of NewVM's waits.
	checks        []Check
	readyTimeout  time.Duration
	createTimeout time.Duration
	shared        bool // leased Shared: other tests use it at once

	mu      sync.Mutex
	addr    string
	deleted bool
	kept    bool
	stopped bool   // by Stop, until Start
	bootID  string // the last boot id read, "" before any
	cuts    []cut  // rules Partition added, for Heal
	history []ran  // the commands the test ran, for artifacts

	// tails counts the ends of commands still going on in the background:
	// each guard's release and its client's exit, a few milliseconds after
	// Exec returned (backend.ExecRequest.Tails). What stops, resets or
	// deletes the machine waits for them first.
	tails tails
}

// newVM returns the VM for machine name, waiting on boots as c says.
func newVM(name string, c *config, d backend.Driver) *VM {
	return &VM{
		name: name, spec: c.spec, driver: d, logf: c.logf,
		checks: c.checks, readyTimeout: c.readyTimeout, createTimeout: c.createTimeout,
	}
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
// address. Other machines of the run reach it there too (on Incus they
// share the bridge; on OrbStack, the machines' network), but an address
// may change when the machine boots again: between machines, use
// [VM.Hostname]. Address is "" while the machine is stopped.
func (vm *VM) Address() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.addr
}

// Hostname returns the name other machines of the run resolve to this
// machine's address, the one to give a peer in a test of several machines
// (see [NewVMs]). The backend says it: on Incus NAME.incus, which the
// bridge's DNS answers for its containers (the host does not resolve it
// unless its resolver asks the bridge); on OrbStack NAME.orb.local, which
// the Mac resolves too. It follows the machine across reboots.
func (vm *VM) Hostname() string { return vm.driver.Hostname(vm.name) }

// AttachCommand returns the command line a person runs to get a shell in
// the machine, such as "incus exec NAME -- bash -l", for logs and for
// debugging a kept machine.
func (vm *VM) AttachCommand() string { return vm.driver.ShellCommand(vm.name) }

func (vm *VM) lookupAddress(ctx context.Context) (string, error) {
	if a := vm.Address(); a != "" {
		return a, nil
	}
	m, err := vm.driver.Inspect(ctx, vm.name)
	if err != nil {
		return "", err
	}
	addr := m.Address
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
	t0 := time.Now()
	res, err := vm.exec(ctx, c)
	vm.note(c, res, err, time.Since(t0))
	var xe *ExitError
	if err != nil && !errors.As(err, &xe) {
		return nil, vm.errorf("%w", err)
	}
	return res, err
}

// exec is Exec with errors that do not name the machine, for the package's
// own steps, whose callers name it once.
func (vm *VM) exec(ctx context.Context, c Cmd) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if vm.isStopped() {
		return nil, fmt.Errorf("run %s: %w", c, errStopped)
	}
	stdout, stderr := &cmdrun.TailBuffer{Max: ResultLimit}, &cmdrun.TailBuffer{Max: ResultLimit}
	outW, errW := []io.Writer{stdout}, []io.Writer{stderr}
	var mu sync.Mutex // the caller's writers may be one
	if c.stdout != nil {
		outW = append(outW, lockedWriter{&mu, c.stdout})
	}
	if c.stderr != nil {
		errW = append(errW, lockedWriter{&mu, c.stderr})
	}
	var flush []*lineWriter
	if c.log != nil {
		logTo := func(stream string) *lineWriter {
			w := &lineWriter{emit: func(line string) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(c.log.Output(), "%s %s: %s\n", vm.name, stream, line)
			}}
			flush = append(flush, w)
			return w
		}
		outW, errW = append(outW, logTo("stdout")), append(errW, logTo("stderr"))
	}
	start := time.Now()
	code, err := vm.driver.Exec(ctx, vm.name, backend.ExecRequest{
		Argv: c.argv, User: c.user, Dir: c.dir, Env: c.env, Stdin: c.stdin,
		Stdout: io.MultiWriter(outW...), Stderr: io.MultiWriter(errW...),
		Tails: &vm.tails,
	})
	for _, w := range flush {
		w.Flush()
	}
	took := time.Since(start)
	res := &Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code, Duration: took}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s: stopped after %s: %w", c, took.Round(time.Millisecond), err)
		}
		return nil, fmt.Errorf("run %s: %w", c, err)
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
	if err := vm.push(ctx, hostPath, guestPath); err != nil {
		return vm.errorf("%w", err)
	}
	return nil
}

// push is Push with errors that do not name the machine.
func (vm *VM) push(ctx context.Context, hostPath, guestPath string) error {
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return fmt.Errorf("push %q: %w", hostPath, err)
	}
	if _, err := os.Stat(hostPath); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if vm.isStopped() {
		return fmt.Errorf("push %q: %w", hostPath, errStopped)
	}
	if err := vm.driver.Push(ctx, vm.name, hostPath, guestPath); err != nil {
		return fmt.Errorf("push %q to %q: %w", hostPath, guestPath, err)
	}
	return nil
}

// errorf returns an error about the machine: "orbtest: machine "NAME": "
// and the message. Errors of the package name their machine once, here.
func (vm *VM) errorf(format string, args ...any) error {
	return fmt.Errorf("orbtest: machine %q: "+format, append([]any{vm.name}, args...)...)
}

// Pull copies the file at the absolute guestPath in the machine to the host
// file hostPath.
func (vm *VM) Pull(ctx context.Context, guestPath, hostPath string) error {
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return vm.errorf("pull %q: %w", guestPath, err)
	}
	if vm.isStopped() {
		return vm.errorf("pull %q: %w", guestPath, errStopped)
	}
	if err := vm.driver.Pull(ctx, vm.name, guestPath, hostPath); err != nil {
		return vm.errorf("pull %q to %q: %w", guestPath, hostPath, err)
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
	vm.tails.Wait()
	err := retry(ctx, func(ctx context.Context) error { return vm.driver.Delete(ctx, vm.name) })
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return fmt.Errorf("orbtest: delete machine %q: %w (delete it by hand: %s)", vm.name, err, vm.driver.DeleteCommand(vm.name))
	}
	vm.deleted = true
	return nil
}
