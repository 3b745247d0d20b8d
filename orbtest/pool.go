package orbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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
// spec's setup once (template.go), leased to one test at a time
// (schedule.go decides which), and reset between tests (release.go).

type pool struct {
	d       backend.Driver
	cloner  backend.Cloner      // nil: machines are provisioned one by one
	snap    backend.Snapshotter // nil: a reset clones the template again
	run     *runstate.Run
	max     int // machines alive at once in the run, templates aside
	creates int // concurrent creates and clones in the run
	sf      singleflight.Group

	mu   sync.Mutex
	wake chan struct{} // closed when this process releases a machine
}

// pools is the process's registry: one pool per driver, state directory
// and run.
var pools sync.Map // poolKey -> *pool

type poolKey struct {
	d        backend.Driver
	stateDir string
	run      string
}

// poolFor returns this process's pool for driver d, opening the run (and
// starting its reaper and the sweep of dead runs) the first time.
func poolFor(ctx context.Context, d backend.Driver, c *config) (*pool, error) {
	k := poolKey{d, c.stateDir, c.runID}
	if p, ok := pools.Load(k); ok {
		return p.(*pool), nil
	}
	pid, start := runstate.Owner()
	run, err := runstate.OpenRun(c.stateDir, c.runID, runstate.RunInfo{
		OwnerPID: pid, OwnerStart: start, Backend: d.Name(), Remote: d.Location(),
	})
	if err != nil {
		return nil, err
	}
	p := &pool{
		d: d, run: run,
		max:     env.PositiveInt(env.MaxVMs, env.DefaultMaxVMs),
		creates: env.PositiveInt(env.MaxCreates, env.DefaultMaxCreates),
		wake:    make(chan struct{}),
	}
	p.cloner, _ = d.(backend.Cloner)
	p.snap, _ = d.(backend.Snapshotter)
	actual, loaded := pools.LoadOrStore(k, p)
	if !loaded && c.reaper {
		if err := run.StartReaper(); err != nil {
			c.logf("orbtest: cannot start the reaper (machines of a crashed run are deleted by the next run's sweep or `orbtest gc`): %v", err)
		}
		go runstate.Sweep(context.WithoutCancel(ctx), d, d.Location(), c.stateDir, c.runID)
	}
	return actual.(*pool), nil
}

// keyOf is the pool key of a spec: machines are interchangeable only on
// one backend with one spec and the same files. It reads the spec's files,
// whose paths alone do not say what a machine holds: two packages may copy
// testdata/config with different contents.
func (p *pool) keyOf(s Spec, proxy string) (string, error) {
	h := sha256.New()
	io.WriteString(h, s.Fingerprint())
	if proxy != "" { // machines built behind a proxy have it configured
		fmt.Fprintf(h, "\x00proxy\x00%s", proxy)
	}
	for _, f := range s.files {
		b, err := os.ReadFile(f.host)
		if err != nil {
			return "", fmt.Errorf("orbtest: read %q for the spec: %w", f.host, err)
		}
		fmt.Fprintf(h, "\x00%s\x00%x", f.guest, sha256.Sum256(b))
	}
	return p.d.Name() + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// lease is a machine held by one test.
type lease struct {
	p         *pool
	vm        *VM
	rec       runstate.Record
	lock      *runstate.Lock
	reclaimed bool // its record was left by a dead process
}

// acquire leases a machine of c's spec in c's mode, creating it when none
// is free and the run is below its cap, and waiting when it is at the cap.
func (p *pool) acquire(ctx context.Context, c *config) (*lease, error) {
	key, err := p.keyOf(c.spec, c.proxy)
	if err != nil {
		return nil, err
	}
	w := &waiter{req: request{key: key, role: c.mode.role(), max: p.max}}
	defer w.ticket.Leave()
	delay := 5 * time.Millisecond
	var waitingSince time.Time
	for {
		p.mu.Lock()
		wake := p.wake
		p.mu.Unlock()
		l, d, err := p.reserve(c, w)
		if err != nil {
			return nil, err
		}
		if d.evict != "" {
			c.logf("orbtest: deleting idle machine %s to make room (ORBTEST_MAX_VMS=%d)", d.evict, p.max)
			p.deleteQuietly(context.WithoutCancel(ctx), d.evict)
		}
		if l != nil {
			prepare := p.build
			if d.action == actReuse {
				prepare = p.ready
			}
			if err := prepare(ctx, c, l); err != nil {
				return nil, err // prepare let the machine go
			}
			return l, nil
		}
		if waitingSince.IsZero() {
			waitingSince = time.Now()
			c.logf("orbtest: waiting for a machine of %s: %d of %d in use (ORBTEST_MAX_VMS)", c.spec, d.inUse, p.max)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("orbtest: no machine of %s became free in %s (%d of %d in use; raise ORBTEST_MAX_VMS): %w",
				c.spec, time.Since(waitingSince).Round(time.Millisecond), d.inUse, p.max, ctx.Err())
		case <-wake:
		case <-time.After(delay):
		}
		// Waiters in other processes are not woken by notify: they poll.
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// waiter is one test's request while it waits: what it asks, and its
// place in the run's queue once it has had to wait.
type waiter struct {
	req    request
	ticket *runstate.Ticket
}

func (w *waiter) queue() string { return w.req.key + "." + string(w.req.role) }

// reserve reads the run's machines under the run lock, lets decide choose,
// and carries the decision out: it takes the chosen machine's lease lock
// and updates its record, adds the record of a machine to create, removes
// the record of one to evict, or queues the waiter. It returns the lease
// (nil when the request waits) and the decision.
func (p *pool) reserve(c *config, w *waiter) (l *lease, d decision, err error) {
	err = p.run.WithLock(func(tx *runstate.Tx) error {
		recs, err := tx.Records()
		if err != nil {
			return err
		}
		w.req.ahead = 0
		if w.req.role != runstate.RoleShared {
			if w.req.ahead, err = tx.Ahead(w.queue(), w.ticket); err != nil {
				return err
			}
		}
		ms := p.observe(recs)
		d = decide(w.req, ms)
		switch d.action {
		case actReuse, actReclaim:
			l, err = p.claim(c, tx, ms, d)
			return err
		case actCreate:
			if d.evict != "" {
				if err := tx.Remove(d.evict); err != nil {
					return err
				}
				p.run.Log("evict", d.evict)
			}
			r := runstate.Record{Name: machineName(c.spec), Key: w.req.key, Spec: c.spec.String(), Role: w.req.role, State: runstate.StateCreating}
			if l, err = p.take(c, tx, r, runstate.TryLock); err != nil || l == nil {
				return fmt.Errorf("orbtest: lock new machine %s: %v", r.Name, err)
			}
			return nil
		}
		if w.ticket == nil && w.req.role != runstate.RoleShared {
			w.ticket, err = tx.Join(w.queue())
		}
		return err
	})
	if l != nil {
		p.run.Log("acquire", l.rec.Name)
		w.ticket.Leave()
		w.ticket = nil
	}
	return l, d, err
}

// observe notes, for each of the run's machines, whether its lease lock
// is free; it takes each lock for an instant and lets it go.
func (p *pool) observe(recs []runstate.Record) []machine {
	ms := make([]machine, len(recs))
	for i, r := range recs {
		ms[i].Record = r
		if r.Role == runstate.RoleTemplate || r.State == runstate.StateKept {
			continue
		}
		if lk, err := runstate.TryLock(p.run.LeasePath(r.Name)); err == nil && lk != nil {
			lk.Unlock()
			ms[i].free, ms[i].shared = true, true
		} else if r.Role == runstate.RoleShared && r.State == runstate.StateReady {
			if lk, err := runstate.TryShared(p.run.LeasePath(r.Name)); err == nil && lk != nil {
				lk.Unlock()
				ms[i].shared = true
			}
		}
	}
	return ms
}

// claim leases the machine d chose: shared, or exclusively as leased (reuse)
// or creating (reclaim).
func (p *pool) claim(c *config, tx *runstate.Tx, ms []machine, d decision) (*lease, error) {
	var r runstate.Record
	for _, m := range ms {
		if m.Name == d.use {
			r = m.Record
		}
	}
	if r.Role == runstate.RoleShared && r.State == runstate.StateReady {
		return p.take(c, nil, r, runstate.TryShared)
	}
	if d.action == actReclaim {
		p.run.Log("reclaim", r.Name)
		r.State = runstate.StateCreating
	} else {
		r.State = runstate.StateLeased
	}
	l, err := p.take(c, tx, r, runstate.TryLock)
	if l != nil {
		l.reclaimed = d.action == actReclaim
	}
	return l, err
}

// take locks r's lease with lock and, when tx is set, writes r. A lock
// someone took since observe saw it free is no lease: the request waits.
func (p *pool) take(c *config, tx *runstate.Tx, r runstate.Record, lock func(string) (*runstate.Lock, error)) (*lease, error) {
	lk, err := lock(p.run.LeasePath(r.Name))
	if err != nil || lk == nil {
		return nil, err
	}
	if tx != nil {
		if err := tx.Put(r); err != nil {
			lk.Unlock()
			return nil, err
		}
	}
	vm := newVM(r.Name, c, p.d)
	vm.addr, vm.shared = r.Addr, r.Role == runstate.RoleShared
	return &lease{p: p, rec: r, lock: lk, vm: vm}, nil
}

// ready prepares a reused machine for its new test.
func (p *pool) ready(ctx context.Context, c *config, l *lease) error {
	t0 := time.Now()
	if err := l.vm.waitAll(ctx, c.readyTimeout, c.checks); err != nil {
		l.release(context.WithoutCancel(ctx), KeepNever, false)
		return l.vm.errorf("%w", err)
	}
	c.logf("orbtest: leased machine %s (%s, reused) in %s", l.vm.name, l.rec.Role, time.Since(t0).Round(time.Microsecond))
	return nil
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
