package orbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Pools.
//
// Every process of a run shares one pool per backend, kept in runstate's
// files. A pool machine is cloned from a per-spec template that ran the
// spec's setup once, leased to one test at a time, and reset between
// tests: restored to a snapshot taken when it was first ready where the
// backend has snapshots (Incus), re-cloned from the template where it does
// not (OrbStack).

// mode says how a test shares its machine.
type mode int

const (
	modePool   mode = iota // exclusive lease of a reused machine, reset after the test
	modeFresh              // a machine of its own, deleted after the test
	modeShared             // one machine per spec shared by read-only tests, never reset
)

// Fresh gives the test a machine of its own that no other test has used
// or will use: cloned from the spec's template and deleted when the test
// ends. Use it for tests that change what a reset cannot undo, or that
// must see a first boot.
func Fresh() Option { return optionFunc(func(c *config) { c.mode = modeFresh }) }

// Shared gives the test the one machine of its spec that every Shared test
// of the run uses at the same time, and never resets. Use it for read-only
// tests (inspecting packages, querying a service): they then cost nothing
// after the first.
func Shared() Option { return optionFunc(func(c *config) { c.mode = modeShared }) }

// snapshotName is the snapshot a pool machine is reset to.
const snapshotName = "orbtest-clean"

type pool struct {
	d        backend.Driver
	run      *runstate.Run
	max      int // machines alive at once in the run, templates aside
	creates  int // concurrent creates and clones in the run
	features backend.Features
	sf       singleflight.Group

	mu   sync.Mutex
	wake chan struct{} // closed when this process releases a machine
}

var pools sync.Map // poolKey -> *pool

type poolKey struct {
	d        backend.Driver
	stateDir string
	run      string
}

// poolFor returns this process's pool for driver d.
func poolFor(ctx context.Context, d backend.Driver, c *config) (*pool, error) {
	k := poolKey{d, c.stateDir, c.runID}
	if p, ok := pools.Load(k); ok {
		return p.(*pool), nil
	}
	info, err := d.Probe(ctx)
	if err != nil {
		return nil, fmt.Errorf("orbtest: %w", err)
	}
	pid, start := runstate.Owner()
	run, err := runstate.OpenRun(c.stateDir, c.runID, runstate.RunInfo{
		OwnerPID: pid, OwnerStart: start, Backend: d.Name(), Remote: env.Get(env.IncusRemote),
	})
	if err != nil {
		return nil, err
	}
	p := &pool{
		d: d, run: run, features: info.Features,
		max:     env.PositiveInt(env.MaxVMs, env.DefaultMaxVMs),
		creates: env.PositiveInt(env.MaxCreates, env.DefaultMaxCreates),
		wake:    make(chan struct{}),
	}
	actual, loaded := pools.LoadOrStore(k, p)
	if !loaded && c.reaper {
		if err := startReaper(run); err != nil {
			c.logf("orbtest: cannot start the reaper (machines of a crashed run are deleted by the next run's sweep or `orbtest gc`): %v", err)
		}
		go runstate.Sweep(context.WithoutCancel(ctx), d, env.Get(env.IncusRemote), c.stateDir, c.runID)
	}
	return actual.(*pool), nil
}

// keyOf is the pool key of a spec: machines are interchangeable only on
// one backend with one spec and the same files. It reads the spec's files,
// whose paths alone do not say what a machine holds: two packages may copy
// testdata/config with different contents.
func (p *pool) keyOf(s Spec) (string, error) {
	h := sha256.New()
	io.WriteString(h, s.Fingerprint())
	for _, f := range s.files {
		b, err := os.ReadFile(f.host)
		if err != nil {
			return "", fmt.Errorf("orbtest: read %q for the spec: %w", f.host, err)
		}
		fmt.Fprintf(h, "\x00%s\x00%x", f.guest, sha256.Sum256(b))
	}
	return p.d.Name() + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// templateName is the name of the template of pool key key.
func (p *pool) templateName(key string) string {
	return fmt.Sprintf("%s-%s-%s-tpl", NamePrefix, p.run.ID, key[len(key)-6:])
}

// lease is a machine held by one test.
type lease struct {
	p         *pool
	vm        *VM
	rec       runstate.Record
	lock      *runstate.Lock
	reclaimed bool // its record was left by a dead process
}

type plan int

const (
	planWait plan = iota
	planReuse
	planCreate
)

// acquire leases a machine of c's spec in c's mode, creating it when none
// is free and the run is below its cap, and waiting when it is at the cap.
func (p *pool) acquire(ctx context.Context, c *config) (*lease, error) {
	key, err := p.keyOf(c.spec)
	if err != nil {
		return nil, err
	}
	delay := 5 * time.Millisecond
	waitingSince := time.Time{}
	var ticket *runstate.Ticket
	defer func() { ticket.Leave() }()
	for {
		p.mu.Lock()
		wake := p.wake
		p.mu.Unlock()
		l, pl, evicted, inUse, err := p.reserve(c, key, &ticket)
		if err != nil {
			return nil, err
		}
		if evicted != "" {
			c.logf("orbtest: deleting idle machine %s to make room (ORBTEST_MAX_VMS=%d)", evicted, p.max)
			p.deleteQuietly(context.WithoutCancel(ctx), evicted)
		}
		switch pl {
		case planReuse:
			if err := p.ready(ctx, c, l); err != nil {
				return nil, err
			}
			return l, nil
		case planCreate:
			if err := p.build(ctx, c, l); err != nil {
				return nil, err
			}
			return l, nil
		}
		if waitingSince.IsZero() {
			waitingSince = time.Now()
			c.logf("orbtest: waiting for a machine of %s: %d of %d in use (ORBTEST_MAX_VMS)", c.spec, inUse, p.max)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("orbtest: no machine of %s became free in %s (%d of %d in use; raise ORBTEST_MAX_VMS): %w",
				c.spec, time.Since(waitingSince).Round(time.Millisecond), inUse, p.max, ctx.Err())
		case <-wake:
		case <-time.After(delay):
		}
		// Waiters in other processes are not woken by notify: they poll.
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// reserve decides, under the run lock, whether to reuse a free machine,
// create one, or wait. Pool and Fresh requests wait their turn: machines
// that become free, and room to create, go first to the tests of the run
// that have waited longer for the same key and role, in any process. A
// request that has to wait takes a place in that queue (*ticket), which
// its caller gives up when it stops waiting.
func (p *pool) reserve(c *config, key string, ticket **runstate.Ticket) (l *lease, pl plan, evicted string, inUse int, err error) {
	err = p.run.WithLock(func(tx *runstate.Tx) error {
		recs, err := tx.Records()
		if err != nil {
			return err
		}
		role := roleOf(c.mode)
		queue := key + "." + string(role)
		ahead := 0 // tests waiting longer than this one
		if c.mode != modeShared {
			if ahead, err = tx.Ahead(queue, *ticket); err != nil {
				return err
			}
		}
		wait := func() error {
			if *ticket == nil && c.mode != modeShared {
				t, err := tx.Join(queue)
				if err != nil {
					return err
				}
				*ticket = t
			}
			return nil
		}
		if c.mode != modeFresh {
			for _, r := range recs {
				if r.Key != key || r.Role != role || r.State == runstate.StateKept {
					continue
				}
				if r.Role == runstate.RoleShared && r.State == runstate.StateReady {
					lk, err := runstate.TryShared(p.run.LeasePath(r.Name))
					if err != nil || lk == nil {
						continue // being repaired
					}
					l, pl = p.newLease(c, r, lk), planReuse
					return nil
				}
				lk, err := runstate.TryLock(p.run.LeasePath(r.Name))
				if err != nil {
					return err
				}
				if lk == nil {
					continue // leased, or being created
				}
				if ahead > 0 {
					ahead-- // free, but for a test that has waited longer
					lk.Unlock()
					continue
				}
				if r.State != runstate.StateIdle {
					// Its holder died mid-lease or mid-create: rebuild it.
					p.run.Log("reclaim", r.Name)
					r.State = runstate.StateCreating
					if err := tx.Put(r); err != nil {
						lk.Unlock()
						return err
					}
					l, pl = p.newLease(c, r, lk), planCreate
					l.reclaimed = true
					return nil
				}
				r.State = runstate.StateLeased
				if err := tx.Put(r); err != nil {
					lk.Unlock()
					return err
				}
				l, pl = p.newLease(c, r, lk), planReuse
				return nil
			}
			if c.mode == modeShared && hasKey(recs, key, role) {
				return nil // someone is creating it: wait
			}
		}
		inUse = alive(recs)
		if ahead > 0 {
			return wait()
		}
		if inUse >= p.max {
			victim := p.evictable(recs, key, c.mode)
			if victim == "" {
				return wait()
			}
			if err := tx.Remove(victim); err != nil {
				return err
			}
			p.run.Log("evict", victim)
			evicted = victim
		}
		r := runstate.Record{Name: machineName(c.spec), Key: key, Spec: c.spec.String(), Role: role, State: runstate.StateCreating}
		lk, err := runstate.TryLock(p.run.LeasePath(r.Name))
		if err != nil || lk == nil {
			return fmt.Errorf("orbtest: lock new machine %s: %v", r.Name, err)
		}
		if err := tx.Put(r); err != nil {
			lk.Unlock()
			return err
		}
		l, pl = p.newLease(c, r, lk), planCreate
		return nil
	})
	if l != nil && pl != planWait {
		p.run.Log("acquire", l.rec.Name)
		(*ticket).Leave()
		*ticket = nil
	}
	return l, pl, evicted, inUse, err
}

// evictable returns a machine that no one uses and that this request
// cannot use as it is: an idle pool machine (of another spec, or of this
// spec when a Fresh or Shared machine is wanted), or a shared machine no
// test holds. It is deleted to make room. Of those, the one unused the
// longest goes first.
func (p *pool) evictable(recs []runstate.Record, key string, m mode) string {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b runstate.Record) int { return a.Updated.Compare(b.Updated) })
	for _, r := range recs {
		switch {
		case r.Role == runstate.RolePool && r.State == runstate.StateIdle:
			if r.Key == key && m == modePool {
				continue // reserve would have leased it
			}
		case r.Role == runstate.RoleShared && r.State == runstate.StateReady:
			if r.Key == key && m == modeShared {
				continue
			}
		default:
			continue
		}
		if lk, err := runstate.TryLock(p.run.LeasePath(r.Name)); err == nil && lk != nil {
			lk.Unlock()
			return r.Name
		}
	}
	return ""
}

func roleOf(m mode) runstate.Role {
	switch m {
	case modeFresh:
		return runstate.RoleFresh
	case modeShared:
		return runstate.RoleShared
	}
	return runstate.RolePool
}

func hasKey(recs []runstate.Record, key string, role runstate.Role) bool {
	for _, r := range recs {
		if r.Key == key && r.Role == role && r.State != runstate.StateKept {
			return true
		}
	}
	return false
}

// alive counts the machines that hold a place under ORBTEST_MAX_VMS.
func alive(recs []runstate.Record) int {
	n := 0
	for _, r := range recs {
		if r.Role != runstate.RoleTemplate && r.State != runstate.StateKept {
			n++
		}
	}
	return n
}

func (p *pool) newLease(c *config, r runstate.Record, lk *runstate.Lock) *lease {
	return &lease{p: p, rec: r, lock: lk, vm: &VM{name: r.Name, spec: c.spec, driver: p.d, logf: c.logf, addr: r.Addr}}
}

// build makes the lease's machine: a clone of the spec's template where the
// backend can clone, else a machine provisioned on its own.
func (p *pool) build(ctx context.Context, c *config, l *lease) (err error) {
	vm := l.vm
	t0 := time.Now()
	defer func() {
		if err != nil {
			p.discard(context.WithoutCancel(ctx), l)
		}
	}()
	if l.reclaimed { // it may name a half-made or used machine
		if err := retry(ctx, func(ctx context.Context) error { return vm.driver.Delete(ctx, vm.name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return fmt.Errorf("orbtest: clear machine %q: %w", vm.name, err)
		}
	}
	tpl, err := p.template(ctx, c, l.rec.Key)
	if err != nil {
		return err
	}
	if err := p.withCreateSlot(ctx, c, func() error {
		if tpl == "" {
			return vm.startFresh(ctx, c)
		}
		return p.cloneFrom(ctx, c, tpl, vm)
	}); err != nil {
		return err
	}
	if p.features.Snapshot && l.rec.Role == runstate.RolePool {
		if err := retry(ctx, func(ctx context.Context) error { return p.d.Snapshot(ctx, vm.name, snapshotName) }); err != nil {
			return fmt.Errorf("orbtest: snapshot machine %q: %w", vm.name, err)
		}
	}
	l.rec.State = runstate.StateLeased
	if l.rec.Role == runstate.RoleShared {
		l.rec.State = runstate.StateReady
	}
	l.rec.Addr = vm.Address()
	if err := p.put(l.rec); err != nil {
		return err
	}
	if l.rec.Role == runstate.RoleShared {
		// Trade the creator's exclusive lock for a shared one, like every other user.
		l.lock.Unlock()
		if l.lock, err = runstate.TryShared(p.run.LeasePath(vm.name)); err != nil || l.lock == nil {
			return fmt.Errorf("orbtest: share machine %q: %v", vm.name, err)
		}
	}
	if err := p.userChecks(ctx, c, vm); err != nil {
		return err
	}
	c.logf("orbtest: machine %s ready after %s (%s; shell: %s)", vm.name, time.Since(t0).Round(time.Millisecond), describe(l.rec.Role, tpl), vm.ShellCommand())
	return nil
}

func describe(role runstate.Role, tpl string) string {
	how := "created"
	if tpl != "" {
		how = "cloned from " + tpl
	}
	return string(role) + ", " + how
}

// ready prepares a reused machine for its new test.
func (p *pool) ready(ctx context.Context, c *config, l *lease) error {
	t0 := time.Now()
	if err := p.userChecks(ctx, c, l.vm); err != nil {
		l.release(context.WithoutCancel(ctx), KeepNever, false)
		return err
	}
	c.logf("orbtest: leased machine %s (%s, reused) in %s", l.vm.name, l.rec.Role, time.Since(t0).Round(time.Microsecond))
	return nil
}

// userChecks waits for the checks given to WithReady.
func (p *pool) userChecks(ctx context.Context, c *config, vm *VM) error {
	return vm.waitAll(ctx, c.readyTimeout, c.checks)
}

// template returns the name of the spec's template, building it once per
// run: once per process through singleflight, once per run through a lock
// file. It returns "" when the backend cannot clone.
func (p *pool) template(ctx context.Context, c *config, key string) (string, error) {
	if !p.features.Clone {
		return "", nil
	}
	name := p.templateName(key)
	v, err, _ := p.sf.Do(key, func() (any, error) {
		lk, err := runstate.LockWait(ctx, p.run.TemplatePath(key))
		if err != nil {
			return "", fmt.Errorf("orbtest: wait for template %s: %w", name, err)
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
			return "", fmt.Errorf("orbtest: clear template %q: %w", name, err)
		}
		t0 := time.Now()
		tvm := &VM{name: name, spec: c.spec, driver: p.d, logf: c.logf}
		err = p.withCreateSlot(ctx, c, func() error {
			if err := tvm.startFresh(ctx, c); err != nil {
				return err
			}
			_, _ = tvm.Exec(ctx, Command("sync").AsUser("root"))
			return retry(ctx, func(ctx context.Context) error { return p.d.Stop(ctx, name) })
		})
		if err != nil {
			p.deleteQuietly(context.WithoutCancel(ctx), name)
			_ = p.run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(name) })
			return "", fmt.Errorf("orbtest: build template for %s: %w", c.spec, err)
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

// startFresh creates vm and makes it ready to provision and use: the
// built-in checks, then files and setup steps.
func (vm *VM) startFresh(ctx context.Context, c *config) error {
	cc := *c
	cc.checks = nil // user checks run per lease
	return vm.start(ctx, &cc)
}

// cloneFrom makes vm a running, ready clone of template tpl.
func (p *pool) cloneFrom(ctx context.Context, c *config, tpl string, vm *VM) error {
	if err := retry(ctx, func(ctx context.Context) error {
		err := p.d.Clone(ctx, tpl, vm.name)
		if errors.Is(err, backend.ErrExists) {
			return nil // an earlier attempt made it
		}
		return err
	}); err != nil {
		return fmt.Errorf("orbtest: clone %q to %q: %w", tpl, vm.name, err)
	}
	return p.boot(ctx, c, vm)
}

// boot starts vm and waits for the built-in checks.
func (p *pool) boot(ctx context.Context, c *config, vm *VM) error {
	if err := retry(ctx, func(ctx context.Context) error { return p.d.Start(ctx, vm.name) }); err != nil {
		return fmt.Errorf("orbtest: start machine %q: %w", vm.name, err)
	}
	vm.mu.Lock()
	vm.addr = ""
	vm.mu.Unlock()
	return vm.waitAll(ctx, c.createTimeout, builtinChecks(vm.spec))
}

// withCreateSlot runs fn holding one of the run's ORBTEST_MAX_CREATES create
// slots, waiting for one when all are taken.
func (p *pool) withCreateSlot(ctx context.Context, c *config, fn func() error) error {
	delay := 5 * time.Millisecond
	logged := false
	for {
		for i := range p.creates {
			lk, err := runstate.TryLock(p.run.SlotPath(i))
			if err != nil {
				return err
			}
			if lk != nil {
				defer lk.Unlock()
				return fn()
			}
		}
		if !logged {
			logged = true
			c.logf("orbtest: waiting for a create slot (%d creates at once, ORBTEST_MAX_CREATES)", p.creates)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("orbtest: wait for a create slot: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

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
	if keep == KeepAlways || keep == KeepFailed && failed {
		vm.kept = true
		l.rec.State = runstate.StateKept
		p.run.Log("keep", vm.name)
		return p.put(l.rec)
	}
	t0 := time.Now()
	if l.rec.Role == runstate.RoleFresh || !p.features.Snapshot && !p.features.Clone {
		p.run.Log("release", vm.name)
		if err := p.discard(ctx, l); err != nil {
			return err
		}
		vm.logf("orbtest: deleted machine %s (%s)", vm.name, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	if err := p.reset(ctx, vm, l.rec.Key); err != nil {
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

// reset brings a pool machine back to the state it had when first ready.
func (p *pool) reset(ctx context.Context, vm *VM, key string) error {
	if p.features.Snapshot {
		if err := retry(ctx, func(ctx context.Context) error { return p.d.Restore(ctx, vm.name, snapshotName) }); err != nil {
			return err
		}
		return p.boot(ctx, p.resetConfig(vm), vm)
	}
	tpl := p.templateName(key)
	if !p.features.Clone {
		return errors.New("the backend can neither snapshot nor clone")
	}
	if err := retry(ctx, func(ctx context.Context) error { return p.d.Delete(ctx, vm.name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	c := p.resetConfig(vm)
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

func (p *pool) put(r runstate.Record) error {
	return p.run.WithLock(func(tx *runstate.Tx) error { return tx.Put(r) })
}

// notify wakes this process's waiters after a release.
func (p *pool) notify() {
	p.mu.Lock()
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}
