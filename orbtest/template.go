package orbtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Templates and clones.
//
// A spec's template is created and provisioned (files, setup steps,
// cloud-init) once per run and stopped; pool machines are copy-on-write
// clones of it. A backend that cannot clone provisions each machine on its
// own.

// build makes the lease's machine: a clone of the spec's template where the
// backend can clone, else a machine provisioned on its own. On error the
// machine and its record are gone.
func (p *pool) build(ctx context.Context, c *config, l *lease) (err error) {
	vm := l.vm
	t0 := time.Now()
	defer func() {
		if err != nil {
			p.discard(context.WithoutCancel(ctx), l)
		}
	}()
	tpl, err := p.template(ctx, c, l.rec.Key)
	if err != nil {
		return err // names the template
	}
	if err := p.make(ctx, c, l, tpl); err != nil {
		return vm.errorf("%w", err)
	}
	c.logf("orbtest: machine %s ready after %s (%s; shell: %s)", vm.name, time.Since(t0).Round(time.Millisecond), describe(l.rec.Role, tpl), vm.AttachCommand())
	return nil
}

// make makes the lease's machine from template tpl ("": on its own),
// snapshots it for resets, records it and waits for the spec's checks.
// Its errors do not name the machine.
func (p *pool) make(ctx context.Context, c *config, l *lease, tpl string) (err error) {
	vm := l.vm
	if l.reclaimed { // it may name a half-made or used machine
		if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Delete(ctx, vm.name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return fmt.Errorf("clear: %w", err)
		}
	}
	if err := p.withCreateSlot(ctx, c, func() error {
		if tpl == "" {
			return vm.startFresh(ctx, c)
		}
		return p.cloneFrom(ctx, c, tpl, vm)
	}); err != nil {
		return err
	}
	if p.snap != nil && l.rec.Role == runstate.RolePool {
		vm.tails.Wait() // a snapshot of the machine as its commands left it
		if err := retry(ctx, func(ctx context.Context) error { return p.snap.Snapshot(ctx, vm.name, snapshotName) }); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	l.rec.State = runstate.StateLeased
	if l.rec.Role == runstate.RoleShared {
		l.rec.State = runstate.StateReady
	}
	l.rec.Addr = vm.Address()
	l.rec.From = tpl
	if err := p.put(l.rec); err != nil {
		return err
	}
	if l.rec.Role == runstate.RoleShared {
		// Trade the creator's exclusive lock for a shared one, like every other user.
		l.lock.Unlock()
		if l.lock, err = runstate.TryShared(p.run.LeasePath(vm.name)); err != nil || l.lock == nil {
			return fmt.Errorf("share: %v", err)
		}
	}
	return vm.waitAll(ctx, c.readyTimeout, c.checks)
}

func describe(role runstate.Role, tpl string) string {
	how := "created"
	if tpl != "" {
		how = "cloned from " + tpl
	}
	return string(role) + ", " + how
}

// templateName is the name of the run's template of pool key key.
func (p *pool) templateName(key string) string { return naming.Template(p.run.ID, key) }

// template returns the name of the template to clone the spec's machines
// from: the spec's cache entry (cache.go) unless the cache is off for it,
// else the run's own template, built once per run: once per process
// through singleflight, once per run through a lock file. It returns ""
// when the backend cannot clone.
func (p *pool) template(ctx context.Context, c *config, key string) (string, error) {
	if p.cloner == nil {
		noCloneOnce.Do(func() {
			c.logf("orbtest: the %s backend cannot clone machines (OrbStack before 2.0): no templates and no template cache; every machine is provisioned on its own", p.d.Name())
		})
		return "", nil
	}
	if cacheMode() != cacheOff && !c.noCache {
		name, err := p.cached(ctx, c, key)
		if !errors.Is(err, errNoCache) {
			return name, err
		}
		c.logf("orbtest: %v; the run builds its own template", err)
	}
	name := p.templateName(key)
	v, err, _ := p.sf.Do(key, func() (any, error) {
		lk, err := runstate.LockWait(ctx, p.run.TemplatePath(key))
		if err != nil {
			return "", fmt.Errorf("orbtest: template %q: wait for its builder: %w", name, err)
		}
		defer lk.Unlock()
		ready := false
		if err := p.run.WithLock(func(tx *runstate.Tx) error {
			recs, err := tx.Records()
			for _, r := range recs {
				if r.Name == name && r.State == runstate.StateReady {
					ready = true
				}
			}
			if err != nil || ready {
				return err
			}
			return tx.Put(runstate.Record{Name: name, Key: key, Spec: c.spec.String(), Role: runstate.RoleTemplate, State: runstate.StateCreating})
		}); err != nil || ready {
			return name, err
		}
		// A template left half-built by a dead process is rebuilt.
		if err := p.d.Delete(ctx, name); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return "", fmt.Errorf("orbtest: template %q: clear: %w", name, err)
		}
		t0 := time.Now()
		if err := p.buildTemplate(ctx, c, name); err != nil {
			_ = p.run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(name) })
			return "", fmt.Errorf("orbtest: template %q for %s: %w", name, c.spec, err)
		}
		c.logf("orbtest: template %s for %s built in %s", name, c.spec, time.Since(t0).Round(time.Millisecond))
		return name, p.run.WithLock(func(tx *runstate.Tx) error {
			return tx.Put(runstate.Record{Name: name, Key: key, Spec: c.spec.String(), Role: runstate.RoleTemplate, State: runstate.StateReady})
		})
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// buildTemplate creates template name of c's spec, provisions it, seals it
// and stops it, holding a create slot. On error nothing of it is left.
func (p *pool) buildTemplate(ctx context.Context, c *config, name string) error {
	tvm := &VM{name: name, spec: c.spec, driver: p.d, logf: c.logf}
	err := p.withCreateSlot(ctx, c, func() error {
		if err := tvm.startFresh(ctx, c); err != nil {
			return err
		}
		if err := tvm.seal(ctx); err != nil {
			return err
		}
		tvm.tails.Wait()
		return retry(ctx, func(ctx context.Context) error { return p.d.Stop(ctx, name) })
	})
	if err != nil {
		p.deleteQuietly(context.WithoutCancel(ctx), name)
	}
	return err
}

// startFresh creates vm and makes it ready to provision and use: the
// built-in checks, then files and setup steps. The checks of WithReady run
// per lease, not here.
func (vm *VM) startFresh(ctx context.Context, c *config) error {
	cc := *c
	cc.checks = nil
	return vm.start(ctx, &cc)
}

// cloneFrom makes vm a running, ready clone of template tpl.
func (p *pool) cloneFrom(ctx context.Context, c *config, tpl string, vm *VM) error {
	if err := retry(ctx, func(ctx context.Context) error {
		err := p.cloner.Clone(ctx, tpl, vm.name)
		if errors.Is(err, backend.ErrExists) {
			return nil // an earlier attempt made it
		}
		return err
	}); err != nil {
		return fmt.Errorf("clone from %q: %w", tpl, err)
	}
	if err := p.boot(ctx, c, vm); err != nil {
		return err
	}
	return vm.newIdentity(ctx)
}

// boot starts vm and waits for the built-in checks.
func (p *pool) boot(ctx context.Context, c *config, vm *VM) error {
	if err := retry(ctx, func(ctx context.Context) error { return p.d.Start(ctx, vm.name) }); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	vm.mu.Lock()
	vm.addr, vm.stopped = "", false
	vm.mu.Unlock()
	return vm.waitAll(ctx, c.createTimeout, builtinChecks(vm.spec))
}

// withCreateSlot runs fn holding one of the run's ORBTEST_MAX_CREATES create
// slots, waiting for one when all are taken.
func (p *pool) withCreateSlot(ctx context.Context, c *config, fn func() error) error {
	lk, err := p.run.AcquireSlot(ctx, p.creates, func() {
		c.logf("orbtest: waiting for a create slot (%d creates at once, ORBTEST_MAX_CREATES)", p.creates)
	})
	if err != nil {
		return err
	}
	defer lk.Unlock()
	return fn()
}
