package runstate

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/orbtest/go-orbtest/internal/env"
)

// StartReaper starts the run's reaper unless one is running, and waits
// until it holds the run's reaper lock, so a crash right after is covered.
// The reaper is this executable started again in its own session with
// ORBTEST_REAPER naming the run's directory; package orbtest's init then
// runs the reaper instead of the tests. Its output goes to ReaperLog,
// never to this process's pipes, which go test would wait on.
func (r *Run) StartReaper() error {
	if Held(r.ReaperLock()) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(r.ReaperLog(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env.Reaper+"="+r.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap the process if it exits before this one
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if Held(r.ReaperLock()) {
			return nil
		}
	}
	return errors.New("the reaper did not start within 5s; see " + r.ReaperLog())
}

// Detached is the process attributes of a child that outlives this
// process and its process group: a session of its own where the system
// has them.
func Detached() *syscall.SysProcAttr { return detached() }
