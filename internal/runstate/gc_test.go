package runstate

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// listDriver is a backend with machines by name; only List and Delete work.
type listDriver struct {
	backend.Driver
	mu       sync.Mutex
	machines map[string]bool
	deleted  []string
}

func (d *listDriver) List(context.Context) ([]backend.Machine, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ms []backend.Machine
	for name := range d.machines {
		ms = append(ms, backend.Machine{Name: name, State: backend.StateRunning})
	}
	return ms, nil
}

func (d *listDriver) Delete(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.machines[name] {
		return fmt.Errorf("delete %s: %w", name, backend.ErrNotFound)
	}
	delete(d.machines, name)
	d.deleted = append(d.deleted, name)
	return nil
}

func TestDeleteRun(t *testing.T) {
	const id = "d1e2a3d4"
	name := func(s string) string { return "orbtest-" + id + "-ffffff-" + s }
	tests := []struct {
		name        string
		records     map[string]State // record name -> state
		onBackend   []string
		wantDeleted []string
		wantRecords []string // nil: the run directory is gone
	}{
		{
			name:        "deletes recorded and unrecorded machines of the run",
			records:     map[string]State{name("a"): StateIdle, name("b"): StateLeased, name("gone"): StateIdle},
			onBackend:   []string{name("a"), name("b"), name("c"), "orbtest-0therrun-ffffff-x", "mine"},
			wantDeleted: []string{name("a"), name("b"), name("c")},
		},
		{
			name:        "keeps kept machines and their records",
			records:     map[string]State{name("a"): StateIdle, name("k"): StateKept},
			onBackend:   []string{name("a"), name("k")},
			wantDeleted: []string{name("a")},
			wantRecords: []string{name("k")},
		},
		{
			name:        "drops records of kept machines deleted since",
			records:     map[string]State{name("k1"): StateKept, name("k2"): StateKept},
			onBackend:   []string{name("k2")},
			wantRecords: []string{name("k2")},
		},
		{
			name:        "removes the run when every kept machine is gone",
			records:     map[string]State{name("k1"): StateKept, name("a"): StateIdle},
			onBackend:   []string{name("a")},
			wantDeleted: []string{name("a")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			run, err := OpenRun(dir, id, RunInfo{OwnerPID: os.Getpid(), Backend: "fake"})
			require.NoError(t, err)
			require.NoError(t, run.WithLock(func(tx *Tx) error {
				for n, st := range tt.records {
					if err := tx.Put(Record{Name: n, Key: "k", Role: RolePool, State: st}); err != nil {
						return err
					}
				}
				return nil
			}))
			d := &listDriver{machines: map[string]bool{}}
			for _, n := range tt.onBackend {
				d.machines[n] = true
			}

			n, err := DeleteRun(context.Background(), d, run)
			require.NoError(t, err)
			sort.Strings(d.deleted)
			assert.Equal(t, tt.wantDeleted, d.deleted)
			assert.Equal(t, len(tt.wantDeleted), n)
			assert.True(t, d.machines["mine"] == contains(tt.onBackend, "mine"), "a machine of no run was touched")

			runs, err := Runs(dir)
			require.NoError(t, err)
			if tt.wantRecords == nil {
				assert.Empty(t, runs, "run directory left behind")
				return
			}
			require.Len(t, runs, 1)
			recs, err := runs[0].Records()
			require.NoError(t, err)
			var got []string
			for _, r := range recs {
				got = append(got, r.Name)
			}
			sort.Strings(got)
			assert.Equal(t, tt.wantRecords, got)
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestLogReapedKeepsTheLatestLines(t *testing.T) {
	dir := t.TempDir()
	line := strings.Repeat("x", 1000)
	for i := range 200 {
		LogReaped(dir, fmt.Sprintf("run %d: %s", i, line))
	}
	b, err := os.ReadFile(ReapedLog(dir))
	require.NoError(t, err)
	assert.LessOrEqual(t, len(b), reapedLogMax+2048)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	assert.Contains(t, lines[len(lines)-1], "run 199: ")
	assert.Greater(t, len(lines), 30)
	for _, l := range lines {
		assert.Regexp(t, `^\S+ run \d+: x{1000}$`, l, "whole lines only")
	}
}
