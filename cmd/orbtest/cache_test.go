package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// cacheScene makes two cache entries on the fake with their records: a
// sealed one and a half-built one whose builder died; and the standard
// scene of runs.
func cacheScene(t *testing.T) (f interface{ Machines() []string }, c *runstate.Cache, sealed, half string) {
	t.Helper()
	fk, state := setup(t)
	scene(t, fk, state, true)
	c, err := runstate.OpenCache(state)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []runstate.Entry{
		{Key: "aaaa0000aaaa0000aaaa0000", Spec: "debian:bookworm setup=1", Image: "orbstack:debian:bookworm/native", Sealed: true, Hits: 3, SizeBytes: 12e6},
		{Key: "bbbb0000bbbb0000bbbb0000", Spec: "debian:bookworm setup=2", Image: "orbstack:debian:bookworm/native"},
	} {
		e.Name, e.Backend, e.Created, e.LastUsed, e.Run = c.Name(e.Key), "orbstack", now.Add(-time.Hour), now.Add(-time.Minute), "deadrun"
		create(t, fk, "debian:bookworm", e.Name)
		if err := c.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	return fk, c, c.Name("aaaa0000aaaa0000aaaa0000"), c.Name("bbbb0000bbbb0000bbbb0000")
}

func TestCacheLs(t *testing.T) {
	_, _, sealed, half := cacheScene(t)
	code, out, errw := orbtest(t, "cache", "ls")
	if code != 0 || errw != "" {
		t.Fatalf("exit %d, stderr %q", code, errw)
	}
	for _, want := range []string{"ENTRY  ", "SPEC", "IMAGE", "SIZE", "LAST USED", "HITS", sealed, "debian:bookworm setup=1", "12.0 MB", "1h0m ago", "2 entries, 12.0 MB"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if f := strings.Fields(lineOf(out, sealed)); f[len(f)-2] != "3" || f[len(f)-1] != "true" {
		t.Errorf("hits and sealed of %s: %q", sealed, f)
	}
	if f := strings.Fields(lineOf(out, half)); f[len(f)-1] != "false" {
		t.Errorf("the half-built entry reads sealed: %q", f)
	}
}

func lineOf(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return ""
}

func TestGCLeavesTheCacheAlone(t *testing.T) {
	f, _, sealed, half := cacheScene(t)
	for _, args := range [][]string{{"gc"}, {"gc", "-all"}} {
		if code, _, errw := orbtest(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errw)
		}
		ms := f.Machines()
		if !slices.Contains(ms, sealed) || !slices.Contains(ms, half) {
			t.Fatalf("%v deleted cache entries: left %q", args, ms)
		}
	}
	if code, _, errw := orbtest(t, "gc", sealed); code != 1 || !strings.Contains(errw, "not an orbtest machine") || !strings.Contains(errw, "orbtest cache prune") {
		t.Errorf("gc NAME of an entry: exit %d, stderr %q", code, errw)
	}
}

func TestCachePrune(t *testing.T) {
	f, c, sealed, half := cacheScene(t)
	code, out, _ := orbtest(t, "cache", "prune", "-dry-run")
	if code != 0 || !strings.Contains(out, "would delete "+half+" (not sealed)") || strings.Contains(out, sealed) {
		t.Errorf("dry run: exit %d:\n%s", code, out)
	}
	if !slices.Contains(f.Machines(), half) {
		t.Fatal("-dry-run deleted something")
	}
	code, out, _ = orbtest(t, "cache", "prune")
	if code != 0 || !strings.Contains(out, "deleted "+half+" (not sealed)") || !strings.Contains(out, "deleted 1 entry") {
		t.Errorf("prune: exit %d:\n%s", code, out)
	}
	if code, out, _ = orbtest(t, "cache", "prune", "-older-than", "2h"); code != 0 || !strings.Contains(out, "nothing to delete") {
		t.Errorf("-older-than 2h of an entry used a minute ago: exit %d:\n%s", code, out)
	}

	use, err := runstate.TryShared(c.UseLock("aaaa0000aaaa0000aaaa0000"))
	if err != nil || use == nil {
		t.Fatal(err)
	}
	code, out, _ = orbtest(t, "cache", "prune", "-all")
	if code != 0 || !strings.Contains(out, "left "+sealed+" (all): a live process builds or clones from it") {
		t.Errorf("prune -all of an entry in use: exit %d:\n%s", code, out)
	}
	use.Unlock()
	code, out, _ = orbtest(t, "cache", "prune", "-all")
	if code != 0 || !strings.Contains(out, "deleted "+sealed+" (all)") {
		t.Errorf("prune -all: exit %d:\n%s", code, out)
	}
	ms := f.Machines()
	if slices.Contains(ms, sealed) || slices.Contains(ms, half) || !slices.Contains(ms, deadPool) {
		t.Errorf("left %q", ms)
	}
	if es, _ := c.Entries(); len(es) != 0 {
		t.Errorf("records left: %v", es)
	}
}

func TestGCNamed(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, true)
	code, out, errw := orbtest(t, "gc", deadKept)
	if code != 0 || !strings.Contains(out, "deleted "+deadKept+" (run deadrun, kept)") || !strings.Contains(out, "deleted 1 machine") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errw)
	}
	ms := f.Machines()
	if slices.Contains(ms, deadKept) || !slices.Contains(ms, deadPool) || !slices.Contains(ms, livePool) {
		t.Errorf("gc NAME deleted more or less than the machine named: left %q", ms)
	}
	code, _, errw = orbtest(t, "gc", livePool)
	if code != 1 || !strings.Contains(errw, "a live test holds it") || !slices.Contains(f.Machines(), livePool) {
		t.Errorf("a held machine: exit %d, stderr %q", code, errw)
	}
	code, _, errw = orbtest(t, "gc", "orbtest-nosuch-aaaaaa-000009")
	if code != 1 || !strings.Contains(errw, "no such orbtest machine") {
		t.Errorf("a missing machine: exit %d, stderr %q", code, errw)
	}
}

func TestDoctorReportsTheCache(t *testing.T) {
	cacheScene(t)
	_, out, _ := orbtest(t, "doctor")
	if !strings.Contains(out, "2 entries, 12.0 MB on the backend") || !strings.Contains(out, "1 not sealed") {
		t.Errorf("doctor does not report the cache:\n%s", out)
	}
}
