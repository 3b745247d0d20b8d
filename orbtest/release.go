package orbtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// snapshotName is the snapshot a pool machine is reset to.
const snapshotName = "orbtest-clean"

// release hands the machine back when its test ends: kept for debugging,
// deleted (fresh), reset for the next test (pool), or just let go (shared).
func (l *lease) release(ctx context.Context, keep Keep, failed bool) error {
	p, vm := l.p, l.vm
	defer p.notify()
	defer l.lock.Unlock()
	if l.rec.Role == runstate.RoleShared {
		p.run.Log("release", vm.name)
		return nil
	}
	vm.tails.Wait()
	if keep == KeepAlways || keep == KeepFailed && failed {
		vm.kept = true
		l.rec.State = runstate.StateKept
		p.run.Log("keep", vm.name)
		return p.put(l.rec)
	}
	t0 := time.Now()
	if l.rec.Role == runstate.RoleFresh || p.snap == nil && p.cloner == nil {
		p.run.Log("release", vm.name)
		if err := p.discard(ctx, l); err != nil {
			return err
		}
		vm.logf("orbtest: deleted machine %s (%s)", vm.name, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	if err := p.reset(ctx, vm, l.rec); err != nil {
		vm.logf("orbtest: reset of machine %s failed, deleting it: %v", vm.name, err)
		p.run.Log("release", vm.name)
		return p.discard(ctx, l)
	}
	l.rec.State = runstate.StateIdle
	l.rec.Addr = vm.Address()
	p.run.Log("release", vm.name)
	if err := p.put(l.rec); err != nil {
		return err
	}
	vm.logf("orbtest: reset machine %s for the next test (%s)", vm.name, time.Since(t0).Round(time.Millisecond))
	return nil
}

// reset brings a pool machine back to the state it had when first ready:
// a snapshot restore where the backend has snapshots, else a new clone of
// the template it was cloned from (a cache entry, or the run's template).
func (p *pool) reset(ctx context.Context, vm *VM, rec runstate.Record) error {
	c := p.resetConfig(vm)
	if p.snap != nil {
		if err := retry(ctx, func(ctx context.Context) error { return p.snap.Restore(ctx, vm.name, snapshotName) }); err != nil {
			return err
		}
		return p.boot(ctx, c, vm)
	}
	if p.cloner == nil {
		return errors.New("the backend can neither snapshot nor clone")
	}
	if err := retry(ctx, func(ctx context.Context) error { return p.d.Delete(ctx, vm.name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	tpl := rec.From
	if tpl == "" {
		tpl = p.templateName(rec.Key)
	}
	return p.withCreateSlot(ctx, c, func() error { return p.cloneFrom(ctx, c, tpl, vm) })
}

// resetConfig is the configuration a reset runs with: it has no test's
// options, so the defaults.
func (p *pool) resetConfig(vm *VM) *config {
	c := defaultConfig()
	c.logf = vm.logf
	return c
}

// discard deletes the lease's machine and its record.
func (p *pool) discard(ctx context.Context, l *lease) error {
	err := retry(ctx, func(ctx context.Context) error { return p.d.Delete(ctx, l.vm.name) })
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return fmt.Errorf("orbtest: delete machine %q: %w (delete it by hand: %s)", l.vm.name, err, p.d.DeleteCommand(l.vm.name))
	}
	l.vm.mu.Lock()
	l.vm.deleted = true
	l.vm.mu.Unlock()
	return p.run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(l.vm.name) })
}

func (p *pool) deleteQuietly(ctx context.Context, name string) {
	_ = retry(ctx, func(ctx context.Context) error { return p.d.Delete(ctx, name) })
}
