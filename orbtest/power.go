package orbtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Reboots.
//
// Restart, Stop and Start go through the backend (incus restart, orbctl
// restart NAME, ...). A boot is over when the machine is on a new boot, told
// by Linux's boot id, and passes the checks NewVM waited for: the built-in
// ones, then the spec's WithReady checks.

// bootIDPath is the file in which Linux names the current boot; it changes
// at every boot.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// errStopped is the error of a command run in a machine that [VM.Stop]
// stopped.
var errStopped = errors.New("machine is stopped (VM.Stop); VM.Start starts it")

// Restart reboots the machine cleanly through the backend and returns once
// it is on a new boot and ready again: the checks [NewVM] waited for (the
// machine runs, runs a command, has an address, cloud-init is done), then
// those of [WithReady], with the same backoff and errors as NewVM, bounded
// by ctx and [WithReadyTimeout]. A service enabled in the machine runs again
// after it; files outside /tmp stay. A pool machine is reset as usual when
// its test ends. Restart of a stopped machine is an error, as is any on a
// [Shared] machine, which other tests use at once.
func (vm *VM) Restart(ctx context.Context) error {
	if err := vm.restart(ctx); err != nil {
		return vm.errorf("restart: %w", err)
	}
	return nil
}

func (vm *VM) restart(ctx context.Context) error {
	if err := vm.controllable(); err != nil {
		return err
	}
	if vm.isStopped() {
		return errStopped
	}
	before, err := vm.readBootID(ctx)
	if err != nil {
		return fmt.Errorf("read the boot id: %w", err)
	}
	t0 := time.Now()
	vm.tails.Wait()
	if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Restart(ctx, vm.name) }); err != nil {
		return err
	}
	if err := vm.awaitBoot(ctx, before); err != nil {
		return err
	}
	vm.logf("orbtest: machine %s restarted and ready in %s", vm.name, time.Since(t0).Round(time.Millisecond))
	return nil
}

// Stop shuts the machine down cleanly through the backend. Until [VM.Start],
// commands, Push and Pull fail with an error that says the machine is
// stopped (OrbStack would otherwise start it for the command). Stopping a
// stopped machine does nothing. A pool machine a test leaves stopped is
// started again by its reset, never handed out stopped. Stop of a [Shared]
// machine is an error.
func (vm *VM) Stop(ctx context.Context) error {
	if err := vm.stop(ctx); err != nil {
		return vm.errorf("stop: %w", err)
	}
	return nil
}

func (vm *VM) stop(ctx context.Context) error {
	if err := vm.controllable(); err != nil {
		return err
	}
	if vm.isStopped() {
		return nil
	}
	id, err := vm.readBootID(ctx)
	if err != nil {
		id = "" // it may have stopped already; Start then waits for any boot
	}
	vm.tails.Wait()
	if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Stop(ctx, vm.name) }); err != nil {
		return err
	}
	vm.mu.Lock()
	vm.stopped, vm.addr = true, ""
	if id != "" {
		vm.bootID = id
	}
	vm.mu.Unlock()
	vm.logf("orbtest: machine %s stopped", vm.name)
	return nil
}

// Start boots a stopped machine through the backend and returns once it is
// on a new boot and ready, as [VM.Restart] does. The machine may have been
// stopped by [VM.Stop] or from inside (poweroff); Start of a running machine
// is an error (Restart reboots one), as is any on a [Shared] machine.
func (vm *VM) Start(ctx context.Context) error {
	if err := vm.startAgain(ctx); err != nil {
		return vm.errorf("start: %w", err)
	}
	return nil
}

func (vm *VM) startAgain(ctx context.Context) error {
	if err := vm.controllable(); err != nil {
		return err
	}
	if !vm.isStopped() {
		m, err := vm.driver.Inspect(ctx, vm.name)
		if err != nil {
			return err
		}
		if m.State == backend.StateRunning {
			return errors.New("machine is running; VM.Restart reboots it")
		}
	}
	vm.mu.Lock()
	before := vm.bootID
	vm.mu.Unlock()
	t0 := time.Now()
	if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Start(ctx, vm.name) }); err != nil {
		return err
	}
	vm.mu.Lock()
	vm.stopped = false
	vm.mu.Unlock()
	if err := vm.awaitBoot(ctx, before); err != nil {
		return err
	}
	vm.logf("orbtest: machine %s started and ready in %s", vm.name, time.Since(t0).Round(time.Millisecond))
	return nil
}

// controllable returns why the test may not stop, start or restart the
// machine, or nil.
func (vm *VM) controllable() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	switch {
	case vm.deleted:
		return errors.New("machine is deleted")
	case vm.shared:
		return errors.New("machine is Shared with other tests; lease it from the pool (the default) or Fresh to control it")
	}
	return nil
}

func (vm *VM) isStopped() bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.stopped
}

// readBootID returns the machine's current boot id.
func (vm *VM) readBootID(ctx context.Context) (string, error) {
	res, err := vm.exec(ctx, Command("cat", bootIDPath).AsUser("root"))
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(res.Stdout)
	if id == "" {
		return "", errors.New(bootIDPath + " is empty")
	}
	return id, nil
}

// awaitBoot waits, as NewVM does, for the machine to be on a boot other
// than before ("": any) and ready: the built-in checks, then the spec's.
func (vm *VM) awaitBoot(ctx context.Context, before string) error {
	vm.mu.Lock()
	vm.addr = "" // a new boot may have a new address
	vm.mu.Unlock()
	if err := vm.waitAll(ctx, vm.createTimeout, append(builtinChecks(vm.spec), newBoot(before))); err != nil {
		return err
	}
	return vm.waitAll(ctx, vm.readyTimeout, vm.checks)
}

// newBoot passes once the machine's boot id differs from before, and
// notes it as the machine's.
func newBoot(before string) Check {
	return NewCheck("on a new boot", func(ctx context.Context, vm *VM) error {
		id, err := vm.readBootID(ctx)
		if err != nil {
			return err
		}
		if id == before {
			return fmt.Errorf("still on the boot before (boot id %s)", id)
		}
		vm.mu.Lock()
		vm.bootID = id
		vm.mu.Unlock()
		return nil
	})
}
