package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

func TestGCDeletesDeadRuns(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, false)
	code, out, stderr := orbtest(t, "gc")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	assertMachines(t, f, livePool, liveFresh, liveShared, orphan, devbox)
	for _, want := range []string{
		"deleted " + deadPool + " (run deadrun, dead)",
		"deleted " + deadTmpl + " (run deadrun, dead)",
		"cleared run deadrun",
		"deleted 2 machines of 1 dead run",
		"left 1 machine of runs the state directory does not know",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if got := runDirs(t, state); !slices.Equal(got, []string{"liverun"}) {
		t.Errorf("runs left: %q, want liverun", got)
	}
	// Nothing left to do.
	if _, out, _ := orbtest(t, "gc"); !strings.Contains(out, "nothing to delete") {
		t.Errorf("second gc:\n%s", out)
	}
}

func TestGCKeepsKept(t *testing.T) {
	f, state := setup(t)
	dead, _ := scene(t, f, state, true)
	if code, _, _ := orbtest(t, "gc"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	assertMachines(t, f, deadKept, livePool, liveFresh, liveShared, orphan, devbox)
	recs, err := dead.Records()
	if err != nil || len(recs) != 1 || recs[0].Name != deadKept {
		t.Errorf("dead run's records: %v %v, want only the kept one", recs, err)
	}
}

func TestGCDryRun(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, false)
	before := f.Machines()
	code, out, _ := orbtest(t, "gc", "-dry-run")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	assertMachines(t, f, before...)
	if f.CountCalls("delete") != 0 {
		t.Errorf("dry run called delete")
	}
	for _, want := range []string{"would delete " + deadPool, "would delete " + deadTmpl, "would clear run deadrun", "would delete 2 machines"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "liverun") || strings.Contains(out, devbox) {
		t.Errorf("dry run would touch a live run or devbox:\n%s", out)
	}
	if got := runDirs(t, state); len(got) != 2 {
		t.Errorf("runs = %q, want both left", got)
	}
}

func TestGCLeavesRunWithReaper(t *testing.T) {
	f, state := setup(t)
	dead, _ := scene(t, f, state, false)
	lk, err := runstate.TryLock(dead.ReaperLock())
	if err != nil || lk == nil {
		t.Fatal("cannot take the reaper lock", err)
	}
	defer lk.Unlock()
	_, out, _ := orbtest(t, "gc")
	assertMachines(t, f, deadPool, deadTmpl, livePool, liveFresh, liveShared, orphan, devbox)
	if !strings.Contains(out, "its reaper is deleting") {
		t.Errorf("output:\n%s", out)
	}
}

// A record naming a machine that is not orbtest's must not get it deleted.
func TestGCRefusesForeignRecord(t *testing.T) {
	f, state := setup(t)
	create(t, f, "ubuntu", devbox)
	writeRun(t, state, "deadrun", deadPID(t), "", rec(devbox, runstate.RolePool, runstate.StateIdle))
	code, _, stderr := orbtest(t, "gc")
	assertMachines(t, f, devbox)
	if code != 1 || !strings.Contains(stderr, "orbtest: gc: run deadrun:") || !strings.Contains(stderr, "refusing") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestGCAll(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, true)
	code, out, stderr := orbtest(t, "gc", "-all")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	assertMachines(t, f, devbox)
	if got := runDirs(t, state); len(got) != 0 {
		t.Errorf("runs left: %q", got)
	}
	for _, want := range []string{
		"deleted " + deadKept + " (run deadrun, dead)",
		"deleted " + livePool + " (run liverun, alive)",
		"deleted " + orphan + " (run norun, unknown)",
		"cleared run deadrun", "cleared run liverun",
		"deleted 7 machines of 3 runs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, devbox) {
		t.Errorf("output mentions devbox:\n%s", out)
	}
}

func TestGCAllDryRun(t *testing.T) {
	f, state := setup(t)
	scene(t, f, state, true)
	before := f.Machines()
	_, out, _ := orbtest(t, "gc", "-all", "-dry-run")
	assertMachines(t, f, before...)
	if got := runDirs(t, state); len(got) != 2 {
		t.Errorf("runs = %q, want both left", got)
	}
	if !strings.Contains(out, "would delete 7 machines of 3 runs") || !strings.Contains(out, "would clear run liverun") {
		t.Errorf("output:\n%s", out)
	}
}

func TestGCAllOlderThan(t *testing.T) {
	f, state := setup(t)
	dead, _ := scene(t, f, state, false)
	backdate(t, dead, deadPool, 3*time.Hour)
	code, out, _ := orbtest(t, "gc", "-all", "-older-than", "2h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	assertMachines(t, f, deadTmpl, livePool, liveFresh, liveShared, orphan, devbox)
	if got := runDirs(t, state); len(got) != 2 {
		t.Errorf("runs = %q, want both left (they still have machines)", got)
	}
	recs, _ := dead.Records()
	if len(recs) != 1 || recs[0].Name != deadTmpl {
		t.Errorf("records %v: the deleted machine's record should be gone", recs)
	}
	if !strings.Contains(out, "deleted 1 machine of 1 run") {
		t.Errorf("output:\n%s", out)
	}
}

func TestGCBackendUnavailable(t *testing.T) {
	setup(t)
	t.Setenv("ORBTEST_ORBCTL", "/nonexistent/orbctl")
	code, _, stderr := orbtest(t, "gc")
	if code != 1 || !strings.HasPrefix(stderr, "orbtest: orbstack: ") || !strings.Contains(stderr, "not an executable orbctl") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestGCAllDeleteFails(t *testing.T) {
	f, state := setup(t, fakeorbctl.WithEnv(fakeorbctl.EnvDeleteFail, "100"))
	writeRun(t, state, "deadrun", deadPID(t), "", rec(deadPool, runstate.RolePool, runstate.StateIdle))
	create(t, f, "debian:bookworm", deadPool)
	code, _, stderr := orbtest(t, "gc", "-all")
	if code != 1 || !strings.Contains(stderr, "orbtest: gc: delete "+deadPool) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := runDirs(t, state); len(got) != 1 {
		t.Errorf("runs = %q: a run whose machine is left must stay", got)
	}
}
