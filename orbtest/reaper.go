package orbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// The reaper.
//
// t.Cleanup does not run when a test binary is killed, times out or
// crashes, and pool machines outlive each test on purpose. So the first
// process of a run starts a reaper: the test binary itself, started again
// in its own session with ORBTEST_REAPER naming the run's directory. It
// holds the run's reaper lock, polls the run's owner (the go command, or
// the test binary when run on its own), and when the owner is gone deletes
// every machine of the run that is not kept, then the run's directory.

// reaperPoll is how often the reaper checks whether the run's owner lives.
const reaperPoll = 500 * time.Millisecond

func init() {
	if dir := env.Get(env.Reaper); dir != "" {
		os.Exit(reap(dir))
	}
}

// reap is the reaper's main function.
func reap(dir string) int {
	run := &runstate.Run{ID: filepath.Base(dir), Dir: dir}
	// The process that started this one polls the lock with runstate.Held,
	// which takes it for an instant: try for a while before deciding that
	// another reaper has the run.
	var lk *runstate.Lock
	for deadline := time.Now().Add(2 * time.Second); lk == nil; time.Sleep(10 * time.Millisecond) {
		var err error
		if lk, err = runstate.TryLock(run.ReaperLock()); err != nil {
			fmt.Fprintf(os.Stderr, "orbtest reaper: run %s: %v\n", run.ID, err)
			return 1
		}
		if lk == nil && time.Now().After(deadline) {
			return 0 // another reaper has the run
		}
	}
	defer lk.Unlock()
	info, err := run.Info()
	if err != nil {
		fmt.Fprintf(os.Stderr, "orbtest reaper: %v\n", err)
		return 1
	}
	for runstate.Alive(info.OwnerPID, info.OwnerStart) {
		time.Sleep(reaperPoll)
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "orbtest reaper: %s +%s: run %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano),
			time.Since(start).Round(time.Millisecond), run.ID, fmt.Sprintf(format, args...))
	}
	logf("owner %d is gone", info.OwnerPID)
	if n := waitLeases(run, releaseWait); n > 0 {
		logf("%d leases still held after %s; deleting anyway", n, releaseWait)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := backends.Select(ctx, info.Backend)
	if err != nil {
		logf("%v", err)
		return 1
	}
	n, err := runstate.DeleteRun(ctx, timedDeletes{d, logf}, run)
	logf("deleted %d machines (err: %v)", n, err)
	runstate.LogReaped(filepath.Dir(filepath.Dir(dir)), fmt.Sprintf("run %s: owner gone at %s, deleted %d machines in %s (err: %v)",
		run.ID, start.UTC().Format(time.RFC3339), n, time.Since(start).Round(time.Millisecond), err))
	if err != nil {
		return 1
	}
	return 0
}

// timedDeletes logs how long each delete takes.
type timedDeletes struct {
	backend.Driver
	logf func(format string, args ...any)
}

func (d timedDeletes) Delete(ctx context.Context, name string) error {
	t0 := time.Now()
	err := d.Driver.Delete(ctx, name)
	d.logf("delete %s: %s (err: %v)", name, time.Since(t0).Round(time.Millisecond), err)
	return err
}

// releaseWait bounds how long the reaper waits for the run's leases to be
// let go: a releaser that LeaseVM handed a reset to may outlive the owner,
// and a reset that clones the machine again must not make it after the
// reaper deleted it.
const releaseWait = teardownTimeout

// waitLeases waits up to d until no machine of run is leased by a live
// process, and returns how many still are.
func waitLeases(run *runstate.Run, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		held := 0
		recs, _ := run.Records()
		for _, r := range recs {
			if r.Role == runstate.RoleTemplate || r.State == runstate.StateKept {
				continue
			}
			if runstate.Held(run.LeasePath(r.Name)) {
				held++
			}
		}
		if held == 0 || time.Now().After(deadline) {
			return held
		}
		time.Sleep(reaperPoll)
	}
}
