package orbtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Leasing.
//
// A request is for n machines of one spec, all or nothing: reserve takes
// every machine decideAll planned under the run lock, or none, and a
// request that cannot be met now waits whole, holding nothing. Once
// reserved, the machines are made ready at once, side by side.

// acquire leases n machines of c's spec in c's mode, reusing free ones,
// creating the rest while the run is below its cap, and waiting when it is
// at the cap. A request of more than ORBTEST_MAX_VMS machines fails at
// once; so does one that would wait while the test holds machines already
// (c.holding), since tests that wait holding machines can wait for each
// other forever.
func (p *pool) acquire(ctx context.Context, c *config, n int) ([]*lease, error) {
	if n > p.max {
		return nil, fmt.Errorf("orbtest: %d machines of %s can never be leased at once: ORBTEST_MAX_VMS=%d lets the run hold %d; raise ORBTEST_MAX_VMS to %d or more",
			n, c.spec, p.max, p.max, n)
	}
	key, err := p.keyOf(c.spec, c.proxy)
	if err != nil {
		return nil, err
	}
	w := &waiter{req: request{key: key, role: c.mode.role(), n: n, max: p.max}}
	defer w.ticket.Leave()
	delay := 5 * time.Millisecond
	var waitingSince time.Time
	for {
		p.mu.Lock()
		wake := p.wake
		p.mu.Unlock()
		ls, pl, err := p.reserve(c, w)
		if err != nil {
			return nil, err
		}
		for _, d := range pl.steps {
			if d.evict != "" {
				c.logf("orbtest: deleting idle machine %s to make room (ORBTEST_MAX_VMS=%d)", d.evict, p.max)
				p.deleteQuietly(context.WithoutCancel(ctx), d.evict)
			}
		}
		if ls != nil {
			return ls, p.prepareAll(ctx, c, ls, pl)
		}
		if c.holding > 0 {
			return nil, fmt.Errorf("orbtest: the test holds %d pool or Fresh machine(s) already and the run has no room for %d more of %s now (%d of %d in use, ORBTEST_MAX_VMS): "+
				"a test that waits while it holds machines can wait forever for tests that do the same. Lease a test's machines of one spec together with NewVMs(t, n, ...), "+
				"or raise ORBTEST_MAX_VMS to the machines all parallel tests hold at once",
				c.holding, n, c.spec, pl.inUse, p.max)
		}
		if waitingSince.IsZero() {
			waitingSince = time.Now()
			c.logf("orbtest: waiting for %s: %d of %d in use (ORBTEST_MAX_VMS)", machines(n, c.spec), pl.inUse, p.max)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("orbtest: no room for %s in %s (%d of %d in use; raise ORBTEST_MAX_VMS): %w",
				machines(n, c.spec), time.Since(waitingSince).Round(time.Millisecond), pl.inUse, p.max, ctx.Err())
		case <-wake:
		case <-time.After(delay):
		}
		// Waiters in other processes are not woken by notify: they poll.
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// machines says "a machine of SPEC" or "N machines of SPEC".
func machines(n int, spec Spec) string {
	if n <= 1 {
		return fmt.Sprintf("a machine of %s", spec)
	}
	return fmt.Sprintf("%d machines of %s", n, spec)
}

// prepareAll makes the reserved machines ready side by side: a reused one
// passes the spec's checks, a new one is built. When one fails, the others
// are let go too and the errors are joined.
func (p *pool) prepareAll(ctx context.Context, c *config, ls []*lease, pl plan) error {
	errs := make([]error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		prepare := p.build
		if pl.steps[i].action == actReuse {
			prepare = p.ready
		}
		wg.Go(func() { errs[i] = prepare(ctx, c, l) }) // prepare lets its machine go on error
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		for i, l := range ls {
			if errs[i] == nil {
				_ = l.release(context.WithoutCancel(ctx), KeepNever, false)
			}
		}
	}
	return err
}

// waiter is one test's request while it waits: what it asks, and its
// place in the run's queue once it has had to wait.
type waiter struct {
	req    request
	ticket *runstate.Ticket
}

func (w *waiter) queue() string { return w.req.key + "." + string(w.req.role) }

// reserve reads the run's machines under the run lock, lets decideAll
// plan, and carries the plan out, all of it or nothing: it takes the lease
// lock of every machine the plan uses, and only when it has them all
// writes their records, removes those of machines to evict and adds those
// of machines to create. Else it queues the waiter. It returns the leases
// (nil when the request waits) and the plan.
func (p *pool) reserve(c *config, w *waiter) (ls []*lease, pl plan, err error) {
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
		pl = decideAll(w.req, ms)
		if ls, err = p.claimAll(c, tx, ms, pl, w.req); err != nil || ls != nil {
			for _, l := range ls {
				p.run.Log("acquire", l.rec.Name) // under the run lock: a request's lines are together
			}
			return err
		}
		if w.ticket == nil && w.req.role != runstate.RoleShared {
			w.ticket, err = tx.Join(w.queue(), max(w.req.n, 1))
		}
		return err
	})
	if ls != nil {
		w.ticket.Leave()
		w.ticket = nil
	}
	return ls, pl, err
}

// claimAll carries pl out within tx: nil leases (and no error) when a lock
// the plan counted on was taken since observe saw it free.
func (p *pool) claimAll(c *config, tx *runstate.Tx, ms []machine, pl plan, req request) ([]*lease, error) {
	if len(pl.steps) == 0 {
		return nil, nil
	}
	var ls []*lease
	letGo := func() {
		for _, l := range ls {
			l.lock.Unlock()
		}
	}
	for _, d := range pl.steps {
		l, err := p.lockFor(c, ms, d, req)
		if err != nil || l == nil {
			letGo()
			return nil, err
		}
		ls = append(ls, l)
	}
	for _, d := range pl.steps {
		if d.evict != "" {
			if err := tx.Remove(d.evict); err != nil {
				letGo()
				return nil, err
			}
			p.run.Log("evict", d.evict)
		}
	}
	for _, l := range ls {
		if l.rec.Role == runstate.RoleShared && l.rec.State == runstate.StateReady {
			continue // a ready shared machine's record is its creator's
		}
		if err := tx.Put(l.rec); err != nil {
			letGo()
			return nil, err
		}
	}
	return ls, nil
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

// lockFor takes the lease lock of the machine step d uses (a new one for a
// create) and returns its lease with the record to write: shared, or
// exclusively as leased (reuse) or creating (reclaim, create). It returns a
// nil lease when someone took the lock since observe saw it free.
func (p *pool) lockFor(c *config, ms []machine, d decision, req request) (*lease, error) {
	if d.action == actCreate {
		r := runstate.Record{Name: machineName(c.spec), Key: req.key, Spec: c.spec.String(), Role: req.role, State: runstate.StateCreating}
		l, err := p.take(c, r, runstate.TryLock)
		if err != nil || l == nil {
			return nil, fmt.Errorf("orbtest: lock new machine %s: %v", r.Name, err)
		}
		return l, nil
	}
	var r runstate.Record
	for _, m := range ms {
		if m.Name == d.use {
			r = m.Record
		}
	}
	if r.Role == runstate.RoleShared && r.State == runstate.StateReady {
		return p.take(c, r, runstate.TryShared)
	}
	if d.action == actReclaim {
		p.run.Log("reclaim", r.Name)
		r.State = runstate.StateCreating
	} else {
		r.State = runstate.StateLeased
	}
	l, err := p.take(c, r, runstate.TryLock)
	if l != nil {
		l.reclaimed = d.action == actReclaim
	}
	return l, err
}

// take locks r's lease with lock; nil when the lock is taken.
func (p *pool) take(c *config, r runstate.Record, lock func(string) (*runstate.Lock, error)) (*lease, error) {
	lk, err := lock(p.run.LeasePath(r.Name))
	if err != nil || lk == nil {
		return nil, err
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
