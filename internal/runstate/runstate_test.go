package runstate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocksExcludeWithinAndAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.lock")
	l, err := TryLock(path)
	require.NoError(t, err)
	require.NotNil(t, l)

	l2, err := TryLock(path)
	require.NoError(t, err)
	assert.Nil(t, l2, "a second lock in the same process must fail")
	assert.True(t, Held(path))

	// Another process cannot take it either.
	out, err := exec.Command("flock", "-n", path, "true").CombinedOutput()
	assert.Error(t, err, "flock(1) got the lock: %s", out)

	require.NoError(t, l.Unlock())
	require.NoError(t, l.Unlock(), "unlock twice is harmless")
	assert.False(t, Held(path))
	require.NoError(t, exec.Command("flock", "-n", path, "true").Run())
}

func TestLockIsReleasedWhenTheHolderDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.lock")
	cmd := exec.Command("flock", "-o", path, "sleep", "30") // -o: only flock holds it, not sleep
	require.NoError(t, cmd.Start())
	// Until flock's child has exec'd sleep, the child still has the lock's
	// file open and would keep the lock a moment after flock dies.
	require.Eventually(t, func() bool { return Held(path) && childIs(cmd.Process.Pid, "sleep") }, 5e9, 1e7)
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no chance to clean up
	_ = cmd.Wait()
	assert.False(t, Held(path), "the kernel drops a dead process's flock")
}

func TestRecordsAndRunInfo(t *testing.T) {
	dir := t.TempDir()
	r, err := OpenRun(dir, "abc123", RunInfo{OwnerPID: os.Getpid(), OwnerStart: ProcessStart(os.Getpid()), Backend: "incus"})
	require.NoError(t, err)
	info, err := r.Info()
	require.NoError(t, err)
	assert.Equal(t, "abc123", info.ID)
	assert.Equal(t, "incus", info.Backend)
	assert.True(t, r.Alive())

	// A second open keeps the first owner.
	r2, err := OpenRun(dir, "abc123", RunInfo{OwnerPID: 1, Backend: "orbstack"})
	require.NoError(t, err)
	info2, _ := r2.Info()
	assert.Equal(t, os.Getpid(), info2.OwnerPID)

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, r.WithLock(func(tx *Tx) error {
				return tx.Put(Record{Name: "orbtest-abc123-ffffff-" + string(rune('a'+i)), Key: "k", Role: RolePool, State: StateIdle})
			}))
		}()
	}
	wg.Wait()
	recs, err := r.Records()
	require.NoError(t, err)
	assert.Len(t, recs, 20)
	require.NoError(t, r.WithLock(func(tx *Tx) error { return tx.Remove(recs[0].Name) }))
	recs, _ = r.Records()
	assert.Len(t, recs, 19)

	runs, err := Runs(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, "abc123", runs[0].ID)
}

func TestRunOfDeadOwnerIsNotAlive(t *testing.T) {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	r, err := OpenRun(t.TempDir(), "dead", RunInfo{OwnerPID: cmd.Process.Pid, OwnerStart: "gone"})
	require.NoError(t, err)
	assert.False(t, r.Alive())
	// A live pid with another start time is a reused pid: not the owner.
	assert.False(t, Alive(os.Getpid(), "not-my-start"))
	assert.True(t, Alive(os.Getpid(), ProcessStart(os.Getpid())))
}

func TestLeaseLogLines(t *testing.T) {
	r, err := OpenRun(t.TempDir(), "log", RunInfo{})
	require.NoError(t, err)
	r.Log("acquire", "m1")
	r.Log("release", "m1")
	b, err := os.ReadFile(r.LogPath())
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], " acquire m1 ")
}

func TestOwnerIsTheGoCommandUnderGoTest(t *testing.T) {
	pid, start := Owner()
	assert.NotZero(t, pid)
	assert.NotEmpty(t, start)
	if processName(os.Getppid()) == "go" {
		assert.Equal(t, os.Getppid(), pid)
	} else {
		assert.Equal(t, os.Getpid(), pid)
	}
}

func TestAcquireSlot(t *testing.T) {
	r, err := OpenRun(t.TempDir(), "slots", RunInfo{})
	require.NoError(t, err)
	a, err := r.AcquireSlot(t.Context(), 2, nil)
	require.NoError(t, err)
	b, err := r.AcquireSlot(t.Context(), 2, nil)
	require.NoError(t, err)

	// Both slots are taken: a third waits, says so once, and gives up with ctx.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	waited := 0
	_, err = r.AcquireSlot(ctx, 2, func() { waited++ })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, waited)

	// A released slot goes to the next taker.
	done := make(chan error, 1)
	go func() {
		c, err := r.AcquireSlot(t.Context(), 2, nil)
		c.Unlock()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, b.Unlock())
	require.NoError(t, <-done)
	require.NoError(t, a.Unlock())
}

// childIs reports whether process pid has a child running the program name.
func childIs(pid int, name string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return false
	}
	for _, c := range strings.Fields(string(b)) {
		if comm, err := os.ReadFile("/proc/" + c + "/comm"); err == nil && strings.TrimSpace(string(comm)) == name {
			return true
		}
	}
	return false
}
