package orbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

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
	cache   poolCache

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
