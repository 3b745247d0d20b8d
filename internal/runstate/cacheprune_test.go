package runstate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelectPrune(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	e := func(name string, lastUsed time.Duration, sealed bool) Entry {
		return Entry{Name: name, Key: name, Sealed: sealed, Created: now.Add(-30 * day), LastUsed: now.Add(-lastUsed)}
	}
	fresh, old, half := e("fresh", time.Hour, true), e("old", 8*day, true), e("half", time.Minute, false)
	a, b, c := e("a", 1*time.Hour, true), e("b", 2*time.Hour, true), e("c", 3*time.Hour, true)
	orb := Entry{Name: "orb", Sealed: true, Created: now.Add(-8 * day), LastUsed: now, MaxAge: 7 * day}
	never := Entry{Name: "never", Sealed: true, Created: now.Add(-9 * day)}
	names := func(ps []Prune) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Entry.Name+": "+p.Why)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		es     []Entry
		rule   PruneRule
		want   []string
		reason string
	}{
		{"zero rule", []Entry{fresh, old}, PruneRule{Now: now}, nil, "nothing is pruned without a rule"},
		{"unused", []Entry{fresh, old}, PruneRule{Now: now, UnusedFor: 7 * day}, []string{"old: unused for 192h0m0s"}, "last used 8 days ago"},
		{"never used counts from creation", []Entry{never}, PruneRule{Now: now, UnusedFor: 7 * day}, []string{"never: unused for 216h0m0s"}, "created 9 days ago, no clone since"},
		{"half built", []Entry{half}, PruneRule{Now: now}, []string{"half: not sealed"}, "a dead builder's entry always goes"},
		{"expired image", []Entry{orb}, PruneRule{Now: now}, []string{"orb: older than its image's 168h0m0s"}, "OrbStack's images move under one name"},
		{"lru bound", []Entry{c, a, b}, PruneRule{Now: now, MaxEntries: 2}, []string{"c: beyond 2 entries"}, "the least recently used beyond the bound"},
		{"bound counts sealed only", []Entry{a, b, half}, PruneRule{Now: now, MaxEntries: 2}, []string{"half: not sealed"}, "a half entry takes no room"},
		{"all", []Entry{fresh, half}, PruneRule{Now: now, All: true}, []string{"fresh: all", "half: all"}, "-all"},
	} {
		assert.Equal(t, tc.want, names(SelectPrune(tc.es, tc.rule)), "%s: %s", tc.name, tc.reason)
	}
}

func TestCacheRecords(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, c.Put(Entry{Key: "k1", Name: c.Name("k1"), Sealed: true, Created: now, LastUsed: now}))
	require.NoError(t, c.Put(Entry{Key: "k2", Name: c.Name("k2"), Created: now, LastUsed: now.Add(time.Second)}))
	require.NoError(t, c.Used("k1", now.Add(time.Minute)))
	e, ok, err := c.Get("k1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 1, e.Hits)
	es, err := c.Entries()
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, "k1", es[0].Key, "most recently used first")
	require.NoError(t, c.Remove("k2"))
	_, ok, err = c.Get("k2")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestPruneCacheSparesEntriesInUse(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	require.NoError(t, err)
	d := &namedDriver{&listDriver{machines: map[string]bool{}}}
	for _, k := range []string{"used", "free", "building"} {
		d.machines[c.Name(k)] = true
		require.NoError(t, c.Put(Entry{Key: k, Name: c.Name(k), Backend: d.Name(), Sealed: true}))
	}
	d.machines[c.Name("orphan")] = true // a builder died before its first record
	lk, err := TryLock(c.BuildLock("orphan"))
	require.NoError(t, err)
	lk.Unlock()
	use, err := TryShared(c.UseLock("used"))
	require.NoError(t, err)
	defer use.Unlock()
	build, err := TryLock(c.BuildLock("building"))
	require.NoError(t, err)
	defer build.Unlock()
	es, err := c.Entries()
	require.NoError(t, err)
	got, err := PruneCache(context.Background(), d, c, SelectPrune(es, PruneRule{All: true}), false)
	require.NoError(t, err)
	busy := map[string]bool{}
	for _, p := range got {
		require.NoError(t, p.Err)
		busy[p.Name] = p.Busy
	}
	assert.Equal(t, map[string]bool{c.Name("used"): true, c.Name("free"): false, c.Name("building"): true, c.Name("orphan"): false}, busy)
	var left []string
	for n := range d.machines {
		left = append(left, n)
	}
	assert.ElementsMatch(t, []string{c.Name("used"), c.Name("building")}, left, "entries in use or being built stay")
	_, ok, _ := c.Get("free")
	assert.False(t, ok, "the pruned entry's record is gone")
}

// namedDriver is a listDriver with a name.
type namedDriver struct{ *listDriver }

func (namedDriver) Name() string     { return "mem" }
func (namedDriver) Location() string { return "" }

func TestDeleteRunAndSweepSpareCacheEntries(t *testing.T) {
	state := t.TempDir()
	c, err := OpenCache(state)
	require.NoError(t, err)
	entry := c.Name("0123456789abcdef0123456789")
	run, err := OpenRun(state, "r1", RunInfo{OwnerPID: -1, Backend: "mem"})
	require.NoError(t, err)
	d := &namedDriver{&listDriver{machines: map[string]bool{entry: true, "orbtest-r1-abcdef-000001": true}}}
	// A record naming the entry (as a run's template record would) does not make it the run's.
	_, err = DeleteRun(context.Background(), d, run)
	require.NoError(t, err)
	assert.Equal(t, []string{"orbtest-r1-abcdef-000001"}, d.deleted, "the run's machine goes, the entry stays")
	dead, err := OpenRun(state, "r2", RunInfo{OwnerPID: -1, Backend: "mem"})
	require.NoError(t, err)
	_ = dead
	Sweep(context.Background(), d, "", state, "other")
	assert.True(t, d.machines[entry], "the sweep of dead runs spares the entry")
}
