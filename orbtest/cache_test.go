package orbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// memImages is a cloning memDriver that identifies images, so the
// template cache keys its specs.
type memImages struct {
	memCloner
	mu    sync.Mutex
	image string
}

func (d *memImages) ImageID(context.Context, backend.Spec) (backend.Image, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return backend.Image{ID: d.image}, nil
}

func newCachingDriver() (*memImages, *memDriver) {
	m := newCloningDriver()
	return &memImages{memCloner: memCloner{m}, image: "sha256:one"}, m
}

// scripts counts the sh -c scripts machines ran, by script.
func scripts(d *memDriver) func(script string) int {
	var mu sync.Mutex
	counts := map[string]int{}
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		if argv[0] == "sh" && len(argv) > 2 {
			mu.Lock()
			counts[argv[2]]++
			mu.Unlock()
		}
		return 0, "", ""
	}
	return func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		return counts[s]
	}
}

// inRun runs one test in run id of state: its own pool, as one go test
// run has.
func inRun(t *testing.T, d backend.Driver, state, id string, opts ...Option) string {
	t.Helper()
	_, ft := runTest(append([]Option{withDriver(d), withRun(state, id)}, opts...)...)
	require.False(t, ft.Failed(), ft.log())
	return ft.log()
}

// endRun lets go of what run id's pool holds in the process, as the end
// of its go test process does.
func endRun(d backend.Driver, state, id string) {
	if v, ok := pools.Load(poolKey{d, state, id}); ok {
		p := v.(*pool)
		p.cache.mu.Lock()
		for _, l := range p.cache.locks {
			l.Unlock()
		}
		p.cache.locks = nil
		p.cache.mu.Unlock()
	}
}

func entries(d *memDriver) []string {
	var out []string
	for _, n := range d.Names() {
		if naming.IsCacheEntry(n, "") {
			out = append(out, n)
		}
	}
	return out
}

func TestCacheSecondRunClones(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("make-tool")
	log1 := inRun(t, d, state, "r1", spec)
	assert.Contains(t, log1, "template cache: built orbcache-")
	assert.Equal(t, 1, count("make-tool"))
	assert.Equal(t, 1, m.Calls("create"), "the entry")
	require.Len(t, entries(m), 1, "the entry outlives its run")
	assert.Equal(t, 1, count(sealScript), "sealed before it was stopped")

	log2 := inRun(t, d, state, "r2", Debian("12").WithSetup("make-tool"))
	assert.Contains(t, log2, "template cache hit: "+entries(m)[0], "Debian 12 is bookworm")
	assert.Equal(t, 1, count("make-tool"), "the setup ran once in two runs")
	assert.Equal(t, 1, m.Calls("create"), "no create on a hit")
	assert.Equal(t, 2, m.Calls("clone"), "each run cloned from the entry")
	assert.Equal(t, 2, count(identityScript), "each clone made its own identity")

	c, err := runstate.OpenCache(state)
	require.NoError(t, err)
	es, err := c.Entries()
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.True(t, es[0].Sealed)
	assert.Equal(t, 1, es[0].Hits)
	assert.Equal(t, "r1", es[0].Run)
}

func TestCacheMisses(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	file := filepath.Join(t.TempDir(), "app.conf")
	require.NoError(t, os.WriteFile(file, []byte("a=1\n"), 0o644))
	spec := Debian("bookworm").WithFile(file, "/etc/app.conf").WithSetup("install-app")
	inRun(t, d, state, "r1", spec)
	inRun(t, d, state, "r2", spec)
	assert.Equal(t, 1, count("install-app"), "a hit")

	require.NoError(t, os.WriteFile(file, []byte("a=2\n"), 0o644))
	log := inRun(t, d, state, "r3", spec)
	assert.Contains(t, log, "template cache: built", "one byte of a file is another entry")
	assert.Equal(t, 2, count("install-app"))

	d.mu.Lock()
	d.image = "sha256:two"
	d.mu.Unlock()
	inRun(t, d, state, "r4", spec)
	assert.Equal(t, 3, count("install-app"), "another image behind the alias")
	assert.Len(t, entries(m), 3)
}

func TestCacheOffAndNoCache(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("fetch-latest")
	inRun(t, d, state, "r1", spec, NoCache())
	inRun(t, d, state, "r2", spec, NoCache())
	assert.Equal(t, 2, count("fetch-latest"), "NoCache: every run builds its template")
	assert.Empty(t, entries(m), "and keeps none")

	t.Setenv("ORBTEST_CACHE", "off")
	inRun(t, d, state, "r3", spec)
	assert.Equal(t, 3, count("fetch-latest"))
	assert.Empty(t, entries(m), "ORBTEST_CACHE=off keeps none")
}

func TestCacheRefresh(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("build")
	inRun(t, d, state, "r1", spec)
	endRun(d, state, "r1")
	t.Setenv("ORBTEST_CACHE", "refresh")
	log := inRun(t, d, state, "r2", spec)
	assert.Contains(t, log, "refreshed (ORBTEST_CACHE=refresh): rebuilding it")
	assert.Equal(t, 2, count("build"))
	inRun(t, d, state, "r2", Debian("bookworm").WithSetup("build").WithCPUs(0))
	assert.Equal(t, 2, count("build"), "refresh rebuilds once per run")
	assert.Len(t, entries(m), 1)
}

// A builder that died left its entry half built: a machine and a record
// that is not sealed, and nobody holds the build lock.
func TestCacheRebuildsAHalfBuiltEntry(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("build")
	inRun(t, d, state, "r1", spec)
	c, err := runstate.OpenCache(state)
	require.NoError(t, err)
	es, err := c.Entries()
	require.NoError(t, err)
	require.Len(t, es, 1)
	half := es[0]
	half.Sealed = false
	require.NoError(t, c.Put(half))

	log := inRun(t, d, state, "r2", spec)
	assert.Contains(t, log, "is half built: rebuilding it")
	assert.Equal(t, 2, count("build"))
	assert.GreaterOrEqual(t, m.Calls("delete "+half.Name), 0)
	assert.Equal(t, []string{half.Name}, entries(m))
	e, ok, err := c.Get(half.Key)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, e.Sealed)
}

// Runs that need the same missing entry at once build it once; the others
// wait and clone.
func TestCacheConcurrentRunsBuildOnce(t *testing.T) {
	d, m := newCachingDriver()
	count := scripts(m)
	state := t.TempDir()
	spec := Debian("bookworm").WithSetup("slow-build")
	const runs = 4
	var wg sync.WaitGroup
	logs := make([]string, runs)
	failed := make([]bool, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ft := runTest(spec, withDriver(d), withRun(state, fmt.Sprintf("c%d", i)))
			logs[i], failed[i] = ft.log(), ft.Failed()
		}()
	}
	wg.Wait()
	for i := range runs {
		require.False(t, failed[i], logs[i])
	}
	assert.Equal(t, 1, count("slow-build"), "built once")
	assert.Equal(t, 1, m.Calls("create"))
	assert.Equal(t, runs, m.Calls("clone"))
	hits := 0
	for _, l := range logs {
		hits += strings.Count(l, "template cache hit")
	}
	assert.Equal(t, runs-1, hits, "every other run cloned from the entry")
}

// The cache key takes the backend's version from the probe that selected
// the driver, and probes only a driver no probe selected.
func TestCacheKeyVersionFromTheSelectingProbe(t *testing.T) {
	spec := Debian("bookworm")
	for _, tc := range []struct {
		name        string
		selected    bool
		wantVersion string
		wantProbes  int
	}{
		{"selected by a probe: no second probe", true, "7.1", 0},
		{"not selected (an injected driver): probed once", false, "1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, m := newCachingDriver()
			if tc.selected {
				probeInfo.Store(d, backend.Info{Backend: "mem", Version: "7.1"})
				t.Cleanup(func() { probeInfo.Delete(d) })
			}
			in, err := (&pool{d: d}).keyInput(t.Context(), &config{spec: spec})
			require.NoError(t, err)
			assert.Equal(t, tc.wantVersion, in.BackendVersion)
			assert.Equal(t, tc.wantProbes, m.Calls("probe"))
		})
	}
}
