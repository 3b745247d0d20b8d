package bench

import (
	"errors"
	"os"
	"os/exec"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// startReaper starts the reaper of this process's run unless one is
// running, and waits until it holds its lock. The library starts it with
// a process's first pool; most benchmarks open none (StartVM, the raw
// CLI), yet make machines of the run. The reaper is this test binary
// started again in its own session with ORBTEST_REAPER naming the run's
// directory: package orbtest's init then runs it instead of the tests.
func startReaper(d backend.Driver) error {
	pid, start := runstate.Owner()
	run, err := runstate.OpenRun(runstate.Dir(), orbtest.RunID(), runstate.RunInfo{
		OwnerPID: pid, OwnerStart: start, Backend: d.Name(), Remote: env.Get(env.IncusRemote),
	})
	if err != nil {
		return err
	}
	if runstate.Held(run.ReaperLock()) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(run.ReaperLog(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env.Reaper+"="+run.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf // never the benchmark's pipes: go test would wait on them
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap the process if it exits before this one
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if runstate.Held(run.ReaperLock()) {
			return nil
		}
	}
	return errors.New("the reaper did not start within 5s; see " + run.ReaperLog())
}
