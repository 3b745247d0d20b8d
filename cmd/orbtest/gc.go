package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

const gcHelp = `
Delete the machines of ended runs: runs under the state directory whose
owner process is dead and whose reaper is gone, as the reaper would have.
Kept machines (ORBTEST_KEEP) stay. Machines of runs the state directory
does not know are left alone; -all deletes those.

With -all, delete every orbtest machine on the selected backend, whatever
its run, kept ones and those of live runs included, and clear the state
directory's runs of that backend. -older-than limits -all to machines (and
runs) older than the duration.

With NAME..., delete those machines (a kept one, say) and their records,
and nothing else; a machine a live test holds is refused.

Only machines whose name starts with "orbtest-" are ever deleted; the
template cache's entries (orbcache-...) are not, whatever the flags: see
orbtest cache prune.
`

func runGC(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gc", "gc [-dry-run] [-all [-older-than DURATION] | NAME...]", gcHelp, stderr)
	all := fs.Bool("all", false, "delete every orbtest machine on the backend, whatever its run")
	dry := fs.Bool("dry-run", false, "print what would be deleted, delete nothing")
	older := fs.Duration("older-than", 0, "with -all: only machines and runs older than this (e.g. 2h)")
	if code := parseArgs(fs, args, true); code >= 0 {
		return code
	}
	names := fs.Args()
	switch {
	case len(names) > 0 && (*all || *older != 0):
		errorf(stderr, "gc: NAME... deletes the machines named; it takes no -all or -older-than")
		fs.Usage()
		return exitUsage
	case *older < 0:
		errorf(stderr, "gc: -older-than must not be negative")
		fs.Usage()
		return exitUsage
	case *older > 0 && !*all:
		errorf(stderr, "gc: -older-than needs -all")
		fs.Usage()
		return exitUsage
	}
	d, err := selectDriver(ctx)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFail
	}
	now := time.Now()
	inv, err := collect(ctx, d, runstate.Dir(), now)
	if err != nil {
		errorf(stderr, "gc: %v", err)
		return exitFail
	}
	g := &collector{d: d, inv: inv, stdout: stdout, stderr: stderr, dry: *dry, now: now}
	switch {
	case len(names) > 0:
		g.named(ctx, names)
	case *all:
		g.all(ctx, *older)
	default:
		g.dead(ctx)
	}
	if g.failed {
		return exitFail
	}
	return exitOK
}

// collector is one gc pass over an inventory.
type collector struct {
	d      backend.Driver
	inv    *inventory
	stdout io.Writer
	stderr io.Writer
	dry    bool
	now    time.Time

	mu      sync.Mutex // guards the writers and the counts below
	deleted int
	failed  bool
}

func (g *collector) printf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Fprintf(g.stdout, format+"\n", args...)
}

func (g *collector) fail(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failed = true
	errorf(g.stderr, "gc: "+format, args...)
}

// verb is what the pass says it does to a machine.
func (g *collector) verb() string {
	if g.dry {
		return "would delete"
	}
	return "deleted"
}

func (g *collector) summary(runs int, what string) {
	switch {
	case g.deleted == 0 && runs == 0:
		g.printf("nothing to delete")
	case g.dry:
		g.printf("would delete %s of %s", count(g.deleted, "machine"), count(runs, what))
	default:
		g.printf("deleted %s of %s", count(g.deleted, "machine"), count(runs, what))
	}
}
