package main

import (
	"context"
	"errors"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
)

// named deletes the machines names, each with its record: orbtest's
// machines only, and none that a live test holds.
func (g *collector) named(ctx context.Context, names []string) {
	d := guardDriver{Driver: g.d}
	for _, name := range names {
		rv, mv := g.inv.find(name)
		switch {
		case !naming.IsOrbtest(name):
			g.fail("%s: not an orbtest machine (no %q prefix); cache entries go with orbtest cache prune", name, naming.Prefix+"-")
			continue
		case mv == nil:
			g.fail("%s: no such orbtest machine on %s (see orbtest ls)", name, g.d.Name())
			continue
		case mv.Lease == leaseHeld:
			g.fail("%s: a live test holds it (run %s); let it end, or stop its run", name, runLabel(rv))
			continue
		}
		if g.dry {
			g.deleted++
			g.printf("would delete %s (run %s, %s)", name, runLabel(rv), g.state(mv))
			continue
		}
		if mv.onBackend() {
			err := backend.Retry(ctx, func(ctx context.Context) error { return d.Delete(ctx, name) })
			if err != nil && !errors.Is(err, backend.ErrNotFound) {
				g.fail("delete %s: %v", name, err)
				continue
			}
		}
		g.forget(rv, name)
		g.deleted++
		g.printf("deleted %s (run %s, %s)", name, runLabel(rv), g.state(mv))
	}
	switch {
	case g.deleted == 0:
		g.printf("nothing to delete")
	case g.dry:
		g.printf("would delete %s", count(g.deleted, "machine"))
	default:
		g.printf("deleted %s", count(g.deleted, "machine"))
	}
}

// state says what a machine was, for gc's lines.
func (g *collector) state(mv *machineView) string {
	if mv.State != "" {
		return mv.State
	}
	return "no record"
}

// find returns the machine name of the inventory and its run; nil when
// there is none.
func (inv *inventory) find(name string) (*runView, *machineView) {
	for _, rv := range inv.Runs {
		for _, mv := range rv.Machines {
			if mv.Name == name {
				return rv, mv
			}
		}
	}
	return nil, nil
}
