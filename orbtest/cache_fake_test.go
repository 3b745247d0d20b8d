package orbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/orbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// On the fake orbctl: the second run clones the first's cache entry and
// creates nothing; the entry has its identity cleared and each clone has
// its own machine-id; the run's reaper spares the entry.
func TestCacheOnTheFakeOrbctl(t *testing.T) {
	f := fakeorbctl.New(t)
	f.Setenv(t)
	d, err := orbctl.Open(t.Context(), f.Bin)
	require.NoError(t, err)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("echo provisioned >marker")

	inRun(t, d, state, "f1", spec)
	creates1, clones1 := f.CountCalls("create"), f.CountCalls("clone")
	assert.Equal(t, 1, creates1, "the first run creates the entry")
	var entry string
	for _, m := range f.Machines() {
		if naming.IsCacheEntry(m, "") {
			entry = m
		}
	}
	require.NotEmpty(t, entry, "the entry outlives its test: %q", f.Machines())
	r, _ := f.Machine(entry)
	assert.Equal(t, "stopped", r.State)

	inRun(t, d, state, "f2", spec)
	assert.Equal(t, creates1, f.CountCalls("create"), "no create on a hit")
	// Each run clones its machine from the entry, and clones it again for the reset at release (OrbStack has no snapshots).
	assert.Equal(t, 2*clones1, f.CountCalls("clone"), "the second run clones from the entry as the first did")
	t.Logf("fake orbctl calls for two runs: %d create, %d clone", f.CountCalls("create"), f.CountCalls("clone"))

	// The reaper's work for both runs: every machine of theirs goes, the entry stays.
	for _, id := range []string{"f1", "f2"} {
		run, err := runstate.OpenRun(state, id, runstate.RunInfo{})
		require.NoError(t, err)
		_, err = runstate.DeleteRun(t.Context(), d, run)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{entry}, f.Machines(), "only the entry is left")
}

// Runs that need the same missing entry at once, on the fake orbctl, build
// it once.
func TestCacheConcurrentRunsOnTheFakeOrbctl(t *testing.T) {
	f := fakeorbctl.New(t)
	f.Setenv(t)
	d, err := orbctl.Open(t.Context(), f.Bin)
	require.NoError(t, err)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("sleep 0.3")
	var wg sync.WaitGroup
	errs := make([]string, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ft := runTest(spec, withDriver(d), withRun(state, fmt.Sprintf("p%d", i)))
			if ft.Failed() {
				errs[i] = ft.log()
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		require.Empty(t, e)
	}
	assert.Equal(t, 1, f.CountCalls("create"), "one entry built")
	assert.Equal(t, 3*2, f.CountCalls("clone"), "a clone per run and one per reset")
}

// A builder killed mid-build leaves the entry's machine and a record that
// is not sealed: the next run deletes it and builds it again.
func TestCacheRebuildsAKilledBuildersEntryOnTheFakeOrbctl(t *testing.T) {
	f := fakeorbctl.New(t)
	f.Setenv(t)
	d, err := orbctl.Open(t.Context(), f.Bin)
	require.NoError(t, err)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("echo built >marker")
	c, err := runstate.OpenCache(state)
	require.NoError(t, err)
	// What the builder left: its machine, running, half provisioned, and a record not sealed.
	in, err := (&pool{d: d}).keyInput(t.Context(), &config{spec: spec})
	require.NoError(t, err)
	key := cacheKey(in)
	name := c.Name(key)
	require.NoError(t, f.Command("create", "debian:bookworm", name).Run())
	require.NoError(t, c.Put(runstate.Entry{Key: key, Name: name, Backend: d.Name(), Spec: spec.String(), Run: "dead"}))
	marker := filepath.Join(f.Root(name), "home", "half")
	require.NoError(t, os.WriteFile(marker, []byte("half"), 0o644))

	log := inRun(t, d, state, "k1", spec)
	// The run's start prunes it (or, had it started first, the build finds it half built).
	assert.Regexp(t, `pruned orbcache-\S+ \(not sealed\)|is half built: rebuilding it`, log)
	assert.Contains(t, log, "template cache: built "+name)
	assert.NoFileExists(t, marker, "the half-built machine was deleted")
	e, ok, err := c.Get(key)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, e.Sealed)
	assert.True(t, slices.Contains(f.Machines(), name))
}
