package orbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// Handing a lease off.
//
// A reset takes seconds (a snapshot restore and a boot), and a program
// that leases one machine per run of itself, as orbtest exec does, would
// wait for it each time. So LeaseVM's release can hand the lease to a
// releaser: this executable started again in its own session with
// ORBTEST_RELEASE holding the lease, and the lease's lock file as its fd 3.
// The lock belongs to the open file, so the releaser holds the lease from
// its start; it resets the machine and marks it idle as release does, and
// no one can lease the machine before. Its output goes to the run's reaper
// log.

// handoff is what a releaser needs to release a lease.
type handoff struct {
	StateDir  string          `json:"state_dir"`
	RunID     string          `json:"run_id"`
	Backend   string          `json:"backend"`
	Keep      Keep            `json:"keep"`
	CloudInit bool            `json:"cloud_init"` // the spec has user data: a boot waits for cloud-init
	Rec       runstate.Record `json:"record"`
}

func init() {
	if v := env.Get(env.Release); v != "" {
		os.Exit(releaseHandedOff(v))
	}
}

// handOff starts the releaser of l and lets the lease go from this
// process. On error the lease is still this process's.
func (l *lease) handOff(c *config) error {
	b, err := json.Marshal(handoff{
		StateDir: c.stateDir, RunID: c.runID, Backend: l.p.d.Name(), Keep: c.keep,
		CloudInit: c.spec.cloudInit != "", Rec: l.rec,
	})
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(l.p.run.ReaperLog(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env.Release+"="+string(b))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{l.lock.File()}
	cmd.SysProcAttr = runstate.Detached()
	if err := cmd.Start(); err != nil { // returns once the releaser runs: it has the lock
		return err
	}
	go cmd.Wait()
	l.p.run.Log("handoff", l.vm.name)
	return l.lock.Close()
}

// releaseHandedOff is the releaser's main function.
func releaseHandedOff(v string) int {
	var h handoff
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		fmt.Fprintf(os.Stderr, "orbtest releaser: %v\n", err)
		return 1
	}
	lock := runstate.LockOf(os.NewFile(3, "lease"))
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "orbtest releaser: %s: run %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), h.RunID, fmt.Sprintf(format, args...))
	}
	if _, err := os.Stat(runstate.RunDir(h.StateDir, h.RunID)); errors.Is(err, os.ErrNotExist) {
		logf("the run is over: nothing to release")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	d, err := backends.Select(ctx, h.Backend)
	if err != nil {
		logf("%v", err)
		return 1
	}
	c := defaultConfig()
	c.stateDir, c.runID, c.reaper, c.driver, c.keep, c.logf = h.StateDir, h.RunID, false, d, h.Keep, logf
	if h.CloudInit {
		c.spec.cloudInit = "handed off" // what the boot after a reset waits for
	}
	p, err := poolFor(ctx, d, c)
	if err != nil {
		logf("%v", err)
		return 1
	}
	l := &lease{p: p, rec: h.Rec, lock: lock, vm: newVM(h.Rec.Name, c, d)}
	l.vm.addr = h.Rec.Addr
	if err := l.release(ctx, h.Keep, false); err != nil {
		logf("release %s: %v", h.Rec.Name, err)
		return 1
	}
	return 0
}
