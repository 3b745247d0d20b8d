package integration_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/orbtest"
)

// cacheChildEnv names the file the cache child copies into its machine.
const cacheChildEnv = "ORBTEST_IT_CACHE_FILE"

// TestCacheChild is the test the cache test runs in separate go test
// processes (separate runs); on its own it skips.
func TestCacheChild(t *testing.T) {
	file := os.Getenv(cacheChildEnv)
	if file == "" {
		t.Skip("run by TestCacheAcrossRuns")
	}
	spec := base.WithFile(file, "/etc/orbtest-cache-input").
		WithSetup("sleep 3; od -An -N8 -tx1 /dev/urandom | tr -d ' \\n' >/etc/orbtest-marker")
	vm := orbtest.NewVM(t, spec)
	t.Logf("marker=%s", strings.TrimSpace(vm.MustRun(t, "cat", "/etc/orbtest-marker")))
	t.Logf("machine-id=%s", strings.TrimSpace(vm.MustRun(t, "cat", "/etc/machine-id")))
}

// Two separate go test runs of a spec whose setup takes seconds: the
// second clones the first's cache entry (the marker written at
// provisioning is the same, the machine-id is not), and a changed file
// misses.
func TestCacheAcrossRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: real machines (-short)")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	state := t.TempDir()
	file := filepath.Join(t.TempDir(), "input")
	require.NoError(t, os.WriteFile(file, []byte("one "+time.Now().String()+"\n"), 0o644))
	var entries []string
	t.Cleanup(func() { deleteEntries(t, entries) })
	child := func() (log, marker, id string) {
		t.Helper()
		cmd := exec.Command(exe, "-test.run=^TestCacheChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), cacheChildEnv+"="+file, "ORBTEST_STATE_DIR="+state, "ORBTEST_CACHE=on", "ORBTEST_RUN_OWNER=", "ORBTEST_RUN_ID=")
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		log = string(out)
		require.NoError(t, err, log)
		t.Logf("child go test process: %s; %s", time.Since(t0).Round(time.Millisecond), regexp.MustCompile(`machine \S+ ready after \S+ \([^)]*\)`).FindString(log))
		if m := regexp.MustCompile(`(orbcache-[a-z0-9]+-[a-z0-9]+)`).FindString(log); m != "" && !slices.Contains(entries, m) {
			entries = append(entries, m)
		}
		return log, field(log, "marker="), field(log, "machine-id=")
	}
	log1, marker1, id1 := child()
	assert.Contains(t, log1, "template cache: built orbcache-")
	log2, marker2, id2 := child()
	assert.Contains(t, log2, "template cache hit: orbcache-", "the second run clones")
	assert.NotContains(t, log2, "setup step 1 of 1 done", "and runs no setup")
	require.NotEmpty(t, marker1)
	assert.Equal(t, marker1, marker2, "the machine holds what the first run's setup wrote")
	assert.NotEqual(t, id1, id2, "each clone has its own machine-id")
	require.NoError(t, os.WriteFile(file, []byte("two\n"), 0o644))
	log3, marker3, _ := child()
	assert.Contains(t, log3, "template cache: built orbcache-", "a changed file misses")
	assert.NotEqual(t, marker1, marker3)
}

func field(log, prefix string) string {
	i := strings.Index(log, prefix)
	if i < 0 {
		return ""
	}
	rest := log[i+len(prefix):]
	if j := strings.IndexAny(rest, " \n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// deleteEntries deletes the cache entries the test made: the test's state
// directory, which holds their records, goes with it.
func deleteEntries(t *testing.T, names []string) {
	d, err := backends.Select(context.Background(), backends.Choice())
	if err != nil {
		return
	}
	for _, n := range names {
		if naming.IsCacheEntry(n, "") {
			if err := d.Delete(context.Background(), n); err != nil && !errors.Is(err, backend.ErrNotFound) {
				t.Logf("delete cache entry %s: %v", n, err)
			}
		}
	}
}
