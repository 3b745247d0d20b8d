package orbtest

import (
	"context"
	"fmt"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// LeaseVM leases a ready machine from the run's pool, as [NewVM] does, for
// a program that is not a test (`orbtest exec`, which go test -exec runs
// once per package): a machine of the spec another package's process
// released, reset since, or a new one cloned from the spec's template. The
// run is the one [RunID] names, so every process one go command starts
// shares it, ORBTEST_MAX_VMS bounds its machines and its reaper deletes
// them when the go command exits.
//
// The caller holds the lease until it calls release, exactly once: with
// discard true the machine is deleted; with discard false it is reset for
// the next lease by a releaser, this executable started again in a session
// of its own that takes the lease over (its lock file is handed to it), so
// release returns at once and the reset overlaps the caller's next work
// (without the releaser, the reset happens in release). Should the caller die first, the lease's lock goes with
// it and the run reclaims the machine. Lifecycle lines go to [WithLogf]
// (by default nowhere). LeaseVM is safe for concurrent use.
func LeaseVM(ctx context.Context, opts ...Option) (vm *VM, release func(ctx context.Context, discard bool) error, err error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("orbtest: %w", err)
	}
	if c.mode == modeShared {
		return nil, nil, fmt.Errorf("orbtest: LeaseVM(Shared()): a Shared machine is held by tests; lease a pool or Fresh machine")
	}
	d, err := driverFor(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	p, err := poolFor(ctx, d, c)
	if err != nil {
		return nil, nil, err
	}
	ls, err := p.acquire(ctx, c, 1)
	if err != nil {
		return nil, nil, err
	}
	l := ls[0]
	release = func(ctx context.Context, discard bool) error {
		keep := c.keep
		if discard {
			keep = KeepNever
			l.rec.Role = runstate.RoleFresh // release deletes a fresh machine
		} else if handsOff(c, l) {
			l.vm.tails.Wait() // the releaser's reset must not meet them
			err := l.handOff(c)
			if err == nil {
				return nil
			}
			c.logf("orbtest: resetting machine %s here: cannot hand it to a releaser: %v", l.vm.name, err)
		}
		return l.release(ctx, keep, false)
	}
	return l.vm, release, nil
}

// handsOff reports whether l's release goes to a releaser: a pool machine
// to reset, on a backend the releaser can select again by name (not one a
// test injected).
func handsOff(c *config, l *lease) bool {
	return c.driver == nil && l.rec.Role == runstate.RolePool && c.keep != KeepAlways &&
		(l.p.snap != nil || l.p.cloner != nil)
}
