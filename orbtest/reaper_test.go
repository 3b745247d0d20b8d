package orbtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// TestReaperWaitsOutAMomentaryLockHolder: the process that starts a reaper
// polls the reaper lock, taking it for an instant each time; a reaper that
// starts in such an instant must not take it for another reaper's.
func TestReaperWaitsOutAMomentaryLockHolder(t *testing.T) {
	f := fakeorbctl.New(t)
	f.Setenv(t)
	t.Setenv("ORBTEST_ORBCTL", f.Bin)
	require.NoError(t, f.Command("create", "debian:bookworm", "orbtest-reaperlock-ffffff-000001").Run())

	dead := exec.Command("true")
	require.NoError(t, dead.Run()) // the run's owner, gone
	state := t.TempDir()
	run, err := runstate.OpenRun(state, "reaperlock", runstate.RunInfo{OwnerPID: dead.Process.Pid, OwnerStart: "gone", Backend: "orbstack"})
	require.NoError(t, err)

	held, err := runstate.TryLock(run.ReaperLock())
	require.NoError(t, err)
	require.NotNil(t, held)
	time.AfterFunc(300*time.Millisecond, func() { held.Unlock() })

	assert.Equal(t, 0, reap(run.Dir))
	assert.Empty(t, f.Machines(), "the reaper deleted the run's machine")
	b, err := os.ReadFile(runstate.ReapedLog(state))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), "run reaperlock: owner gone at "), "%s", b)
	_, err = os.Stat(filepath.Join(state, "runs", "reaperlock"))
	assert.True(t, os.IsNotExist(err), "the run's directory is removed")

	// A reaper that finds the lock held for good leaves the run alone.
	run2, err := runstate.OpenRun(state, "taken", runstate.RunInfo{OwnerPID: dead.Process.Pid, OwnerStart: "gone", Backend: "orbstack"})
	require.NoError(t, err)
	lk, err := runstate.TryLock(run2.ReaperLock())
	require.NoError(t, err)
	defer lk.Unlock()
	start := time.Now()
	assert.Equal(t, 0, reap(run2.Dir))
	assert.Less(t, time.Since(start), 10*time.Second)
	_, err = os.Stat(run2.Dir)
	assert.NoError(t, err, "the run is left to its reaper")
}
