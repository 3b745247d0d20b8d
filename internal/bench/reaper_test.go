package bench

import (
	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// startReaper starts the reaper of this process's run unless one is
// running, and waits until it holds its lock. The library starts it with
// a process's first pool; most benchmarks open none (StartVM, the raw
// CLI), yet make machines of the run.
func startReaper(d backend.Driver) error {
	pid, start := runstate.Owner()
	run, err := runstate.OpenRun(runstate.Dir(), orbtest.RunID(), runstate.RunInfo{
		OwnerPID: pid, OwnerStart: start, Backend: d.Name(), Remote: d.Location(),
	})
	if err != nil {
		return err
	}
	return run.StartReaper()
}
