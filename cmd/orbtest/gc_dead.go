package main

import (
	"context"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// dead deletes the machines of dead runs with runstate.DeleteRun, which is
// what each run's reaper does when its owner dies.
func (g *collector) dead(ctx context.Context) {
	runs, unknown := 0, 0
	for _, rv := range g.inv.Runs {
		switch {
		case rv.run == nil || rv.Status == runUnknown:
			unknown += countOnBackend(rv)
			continue
		case rv.Status != runDead:
			continue
		case rv.Reaper:
			g.printf("run %s is dead; its reaper is deleting its machines", rv.ID)
			continue
		case rv.Backend != "" && rv.Backend != g.d.Name():
			g.printf("run %s is dead but ran on %s: run gc with ORBTEST_BACKEND=%s", rv.ID, rv.Backend, rv.Backend)
			continue
		}
		// The inventory is a moment old: check again, as Sweep does.
		if rv.run.Alive() || heldIfExists(rv.run.ReaperLock()) {
			continue
		}
		runs++
		g.deadRun(ctx, rv)
	}
	g.summary(runs, "dead run")
	if unknown > 0 {
		g.printf("left %s of runs the state directory does not know (see orbtest ls); orbtest gc -all deletes them", count(unknown, "machine"))
	}
}

// deadRun deletes one dead run's machines, all but the kept ones, and its
// directory when nothing is kept.
func (g *collector) deadRun(ctx context.Context, rv *runView) {
	kept := 0
	for _, m := range rv.Machines {
		if m.kept() {
			kept++
			if m.onBackend() {
				g.printf("kept %s (run %s: kept for debugging; orbtest gc -all deletes it)", m.Name, rv.ID)
			}
		}
	}
	if g.dry {
		for _, m := range rv.Machines {
			if !m.kept() && m.onBackend() {
				g.deleted++
				g.printf("would delete %s (run %s, dead)", m.Name, rv.ID)
			}
		}
		if kept == 0 {
			g.printf("would clear run %s", rv.ID)
		}
		return
	}
	d := guardDriver{Driver: g.d, deleted: func(name string) {
		g.mu.Lock()
		g.deleted++
		g.mu.Unlock()
		g.printf("deleted %s (run %s, dead)", name, rv.ID)
	}}
	if _, err := runstate.DeleteRun(ctx, d, rv.run); err != nil {
		g.fail("run %s: %v", rv.ID, err)
		return
	}
	if kept == 0 {
		g.printf("cleared run %s", rv.ID)
	}
}

func countOnBackend(rv *runView) int {
	n := 0
	for _, m := range rv.Machines {
		if m.onBackend() {
			n++
		}
	}
	return n
}
