package main

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// all deletes every orbtest machine on the backend (older than older, when
// it is set), whatever its run, then clears the runs left without machines.
func (g *collector) all(ctx context.Context, older time.Duration) {
	d := guardDriver{Driver: g.d}
	gone := map[string]bool{} // machines deleted (or already gone)
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	unknownAge, runs := 0, 0
	for _, rv := range g.inv.Runs {
		n := 0
		for _, m := range rv.Machines {
			if !m.onBackend() {
				continue
			}
			if older > 0 {
				if m.Created.IsZero() {
					unknownAge++
					continue
				}
				if m.age(g.now) < older {
					continue
				}
			}
			n++
			if g.dry {
				g.deleted++
				gone[m.Name] = true
				g.printf("would delete %s (run %s, %s)", m.Name, runLabel(rv), rv.Status)
				continue
			}
			eg.Go(func() error {
				err := backend.Retry(ctx, func(ctx context.Context) error { return d.Delete(ctx, m.Name) })
				if err != nil && !errors.Is(err, backend.ErrNotFound) {
					g.fail("delete %s: %v", m.Name, err)
					return nil
				}
				g.forget(rv, m.Name)
				mu.Lock()
				gone[m.Name] = true
				mu.Unlock()
				if err == nil {
					g.mu.Lock()
					g.deleted++
					g.mu.Unlock()
					g.printf("deleted %s (run %s, %s)", m.Name, runLabel(rv), rv.Status)
				}
				return nil
			})
		}
		if n > 0 {
			runs++
		}
	}
	_ = eg.Wait()
	for _, rv := range g.inv.Runs {
		g.clear(rv, gone, older)
	}
	g.summary(runs, "run")
	if unknownAge > 0 {
		g.printf("left %s whose age is unknown (-older-than)", count(unknownAge, "machine"))
	}
}

// forget removes the record of a deleted machine, if its run has records.
func (g *collector) forget(rv *runView, name string) {
	if rv.run == nil {
		return
	}
	err := rv.run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(name) })
	if err != nil {
		g.fail("run %s: remove record of %s: %v", rv.ID, name, err)
	}
}

// clear removes the directory of run rv once none of its machines is left
// on the backend, when the run is this backend's and old enough.
func (g *collector) clear(rv *runView, gone map[string]bool, older time.Duration) {
	if rv.run == nil || rv.Backend != "" && rv.Backend != g.d.Name() {
		return
	}
	for _, m := range rv.Machines {
		if m.onBackend() && !gone[m.Name] {
			return
		}
	}
	if older > 0 && (rv.Created.IsZero() || g.now.Sub(rv.Created) < older) {
		return
	}
	if g.dry {
		g.printf("would clear run %s", rv.ID)
		return
	}
	if err := rv.run.Remove(); err != nil {
		g.fail("run %s: %v", rv.ID, err)
		return
	}
	g.printf("cleared run %s", rv.ID)
}

// runLabel names a run in messages.
func runLabel(rv *runView) string { return cmp.Or(rv.ID, "?") }
