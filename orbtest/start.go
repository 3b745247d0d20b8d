package orbtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// ErrUnavailable is wrapped by the error [StartVM] returns when no backend
// is installed and running. [NewVM] skips the test on it, or fails it when
// ORBTEST_REQUIRE=1.
var ErrUnavailable = backend.ErrUnavailable

// teardownTimeout bounds deleting one machine.
const teardownTimeout = 2 * time.Minute

// StartVM creates the machine that opts describe, waits until it is ready
// and returns it, for TestMain and tools. It does not use the pool: the
// machine is the caller's, who must call [VM.Delete]. On error StartVM
// returns a nil VM and leaves nothing behind.
//
// Bad options are reported, all at once, before any backend is touched.
func StartVM(ctx context.Context, opts ...Option) (*VM, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("orbtest: %w", err)
	}
	d, err := driverFor(ctx, c)
	if err != nil {
		return nil, err
	}
	vm := newVM(machineName(c.spec), c, d)
	if err := vm.start(ctx, c); err != nil {
		err = vm.errorf("%w", err)
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		if derr := vm.Delete(dctx); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	return vm, nil
}

// driverFor returns the driver c asks for.
func driverFor(ctx context.Context, c *config) (backend.Driver, error) {
	if c.driver != nil {
		return c.driver, nil
	}
	d, err := selectDriver(ctx, c.backend)
	if err != nil {
		return nil, fmt.Errorf("orbtest: %w", err)
	}
	return d, nil
}

// start creates the machine and makes it ready: running, able to run a
// command, cloud-init done, files copied, setup steps run, user checks
// passed. Its errors do not name the machine: its callers do.
func (vm *VM) start(ctx context.Context, c *config) error {
	t0 := time.Now()
	vm.logf("orbtest: creating machine %s (%s on %s)", vm.name, vm.spec, vm.driver.Name())
	if err := vm.create(ctx, c); err != nil {
		return fmt.Errorf("create: %w", deadlineHint(ctx, err))
	}
	created := time.Since(t0)
	if err := vm.waitAll(ctx, c.createTimeout, builtinChecks(vm.spec)); err != nil {
		return err
	}
	if err := vm.provision(ctx, c.proxy); err != nil {
		return err
	}
	if err := vm.waitAll(ctx, c.readyTimeout, c.checks); err != nil {
		return err
	}
	vm.logf("orbtest: machine %s ready after %s (created in %s; shell: %s)",
		vm.name, time.Since(t0).Round(time.Millisecond), created.Round(time.Millisecond), vm.AttachCommand())
	return nil
}

// waitAll waits for checks in order, all within timeout. Its errors do not
// name the machine.
func (vm *VM) waitAll(ctx context.Context, timeout time.Duration, checks []Check) error {
	if len(checks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, ch := range checks {
		if err := vm.waitFor(ctx, ch); err != nil {
			return fmt.Errorf("not ready: %w", deadlineHint(ctx, err))
		}
	}
	return nil
}

// builtinChecks are the checks every machine passes before anything else
// runs in it: it runs, it runs a command, the host can address it, and
// cloud-init is done when the spec has user data.
func builtinChecks(s Spec) []Check {
	checks := []Check{Running(), CommandSucceeds("true"), hasAddress()}
	if s.cloudInit != "" {
		checks = append(checks, CloudInitDone())
	}
	return checks
}

// create calls the backend's create, retrying transient failures and
// per-attempt timeouts. A retry that finds the machine already there adopts
// it: the name is unique to this VM, so an earlier attempt that the client
// gave up on made it after all.
func (vm *VM) create(ctx context.Context, c *config) error {
	attempt := 0
	spec := vm.spec.backendSpec()
	return backoff.Retry(func() error {
		attempt++
		actx, cancel := context.WithTimeout(ctx, c.createTimeout)
		err := vm.driver.Create(actx, vm.name, spec)
		timedOut := actx.Err() != nil
		cancel()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, backend.ErrExists) && attempt > 1:
			vm.logf("orbtest: machine %s exists after a failed create attempt; adopting it", vm.name)
			return vm.adopt(ctx)
		case ctx.Err() != nil:
			return backoff.Permanent(err)
		case backend.Retryable(err) || timedOut:
			vm.logf("orbtest: create %s, attempt %d failed, retrying: %v", vm.name, attempt, err)
			return err
		}
		return backoff.Permanent(err)
	}, lifecycleBackoff(ctx))
}

// adopt makes a machine that an abandoned create attempt made usable.
func (vm *VM) adopt(ctx context.Context) error {
	m, err := vm.driver.Inspect(ctx, vm.name)
	if err != nil {
		return backoff.Permanent(err)
	}
	if m.State == backend.StateStopped {
		if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Start(ctx, vm.name) }); err != nil {
			return backoff.Permanent(err)
		}
	}
	return nil // Running() waits through creating and provisioning
}

// provision points the machine's package manager at proxy (when set), then
// copies the spec's files in and runs its setup steps, as root.
func (vm *VM) provision(ctx context.Context, proxy string) error {
	if script := proxyScript(vm.spec.distro, proxy); script != "" {
		if _, err := vm.exec(ctx, Command("sh", "-c", script, "sh", proxy).AsUser("root")); err != nil {
			return &stepError{step: "configure the package proxy", err: err}
		}
	}
	for _, f := range vm.spec.files {
		dir := f.guest[:max(1, lastSlash(f.guest))]
		if _, err := vm.exec(ctx, Command("mkdir", "-p", dir).AsUser("root")); err != nil {
			return &stepError{step: fmt.Sprintf("copy %q", f.host), err: err}
		}
		if err := vm.push(ctx, f.host, f.guest); err != nil {
			return err
		}
	}
	for i, script := range vm.spec.setup {
		t0 := time.Now()
		step := fmt.Sprintf("setup step %d of %d", i+1, len(vm.spec.setup))
		last := &lastLines{n: setupTailLines}
		// The step's output goes to the log as it comes, a line at a time.
		logLine := func(stream string) *lineWriter {
			return &lineWriter{emit: func(line string) {
				last.add(line)
				vm.logf("orbtest: %s: %s: %s: %s", vm.name, step, stream, line)
			}}
		}
		out, errs := logLine("stdout"), logLine("stderr")
		_, err := vm.exec(ctx, ShellCommand(script).AsUser("root").WithEnv(proxyEnv(proxy)...).WithStdout(out).WithStderr(errs))
		out.Flush()
		errs.Flush()
		if err != nil {
			return &stepError{step, deadlineHint(ctx, err), last.get()}
		}
		vm.logf("orbtest: machine %s: %s done in %s", vm.name, step, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// setupTailLines is how many of a failed setup step's last lines of output
// its error shows.
const setupTailLines = 10

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}

// budgetKey marks a context whose deadline NewVM derived from the test's.
type budgetKey struct{}

// deadlineHint explains a deadline that NewVM set to keep time for
// teardown before the test binary's -timeout.
func deadlineHint(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Value(budgetKey{}) != nil {
		return fmt.Errorf("%w (stopped early to leave time for teardown before the go test -timeout; raise -timeout)", err)
	}
	return err
}
