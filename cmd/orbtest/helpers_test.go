package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// setup gives the test a fake OrbStack and an empty state directory, and
// points orbtest at them through the environment (so tests may not run in
// parallel). Other ORBTEST_* variables of the outer environment are unset.
func setup(t *testing.T, opts ...fakeorbctl.Option) (f *fakeorbctl.Fake, stateDir string) {
	t.Helper()
	clearOrbtestEnv(t)
	f = fakeorbctl.New(t, opts...)
	f.Setenv(t)
	stateDir = t.TempDir()
	t.Setenv("ORBTEST_BACKEND", "orbstack")
	t.Setenv("ORBTEST_ORBCTL", f.Bin)
	t.Setenv("ORBTEST_STATE_DIR", stateDir)
	return f, stateDir
}

func clearOrbtestEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ORBTEST_") {
			t.Setenv(k, "") // restored when the test ends
			os.Unsetenv(k)
		}
	}
}

// orbtest runs the command with args and returns its exit code and output.
func orbtest(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), args, &out, &errw)
	t.Logf("orbtest %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errw.String())
	return code, out.String(), errw.String()
}

// create creates a machine on the fake.
func create(t *testing.T, f *fakeorbctl.Fake, image, name string) {
	t.Helper()
	if out, err := f.Command("create", image, name).CombinedOutput(); err != nil {
		t.Fatalf("create %s: %v\n%s", name, err, out)
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// liveOwner returns this process as a run owner.
func liveOwner() (int, string) { return os.Getpid(), runstate.ProcessStart(os.Getpid()) }

// writeRun records run id, owned by pid, with recs, under stateDir.
func writeRun(t *testing.T, stateDir, id string, pid int, start string, recs ...runstate.Record) *runstate.Run {
	t.Helper()
	r, err := runstate.OpenRun(stateDir, id, runstate.RunInfo{OwnerPID: pid, OwnerStart: start, Backend: "orbstack"})
	if err != nil {
		t.Fatal(err)
	}
	err = r.WithLock(func(tx *runstate.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rec(name string, role runstate.Role, state runstate.State) runstate.Record {
	return runstate.Record{Name: name, Key: "orbstack-test", Spec: "debian:bookworm", Role: role, State: state}
}

// Machine names of the standard scene.
const (
	deadPool   = "orbtest-deadrun-aaaaaa-000001"
	deadTmpl   = "orbtest-deadrun-aaaaaa-000002"
	deadKept   = "orbtest-deadrun-aaaaaa-000003"
	livePool   = "orbtest-liverun-bbbbbb-000001"
	liveFresh  = "orbtest-liverun-bbbbbb-000002"
	liveShared = "orbtest-liverun-bbbbbb-000003"
	orphan     = "orbtest-norun-cccccc-000001"
	devbox     = "devbox"
)

// scene builds a dead run (an idle pool machine, a template and, with
// keep, a kept machine), a live run (a pool machine whose lease this test
// holds, a fresh machine with a stale lease, a shared machine), a machine
// of a run with no state, and a machine that is not orbtest's.
func scene(t *testing.T, f *fakeorbctl.Fake, stateDir string, keep bool) (dead, live *runstate.Run) {
	t.Helper()
	names := []string{deadPool, deadTmpl, livePool, liveFresh, liveShared, orphan}
	deadRecs := []runstate.Record{
		rec(deadPool, runstate.RolePool, runstate.StateIdle),
		rec(deadTmpl, runstate.RoleTemplate, runstate.StateReady),
	}
	if keep {
		names = append(names, deadKept)
		deadRecs = append(deadRecs, rec(deadKept, runstate.RoleFresh, runstate.StateKept))
	}
	for _, n := range names {
		create(t, f, "debian:bookworm", n)
	}
	create(t, f, "ubuntu", devbox)
	dead = writeRun(t, stateDir, "deadrun", deadPID(t), "", deadRecs...)
	pid, start := liveOwner()
	live = writeRun(t, stateDir, "liverun", pid, start,
		rec(livePool, runstate.RolePool, runstate.StateLeased),
		rec(liveFresh, runstate.RoleFresh, runstate.StateLeased),
		rec(liveShared, runstate.RoleShared, runstate.StateReady),
	)
	lk, err := runstate.TryLock(live.LeasePath(livePool))
	if err != nil || lk == nil {
		t.Fatalf("lease %s: %v", livePool, err)
	}
	t.Cleanup(func() { lk.Unlock() })
	return dead, live
}

// assertMachines checks which machines exist on the fake.
func assertMachines(t *testing.T, f *fakeorbctl.Fake, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := f.Machines(); !slices.Equal(got, want) {
		t.Errorf("machines = %q, want %q", got, want)
	}
}

// runDirs lists the runs recorded under stateDir.
func runDirs(t *testing.T, stateDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(stateDir, "runs"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		ids = append(ids, e.Name())
	}
	return ids
}

// backdate rewrites a record's creation time.
func backdate(t *testing.T, r *runstate.Run, name string, age time.Duration) {
	t.Helper()
	err := r.WithLock(func(tx *runstate.Tx) error {
		recs, err := tx.Records()
		if err != nil {
			return err
		}
		for _, rc := range recs {
			if rc.Name == name {
				rc.Created = time.Now().Add(-age)
				return tx.Put(rc)
			}
		}
		t.Fatalf("no record %s", name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fixedNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
func zeroTime() time.Time { return time.Time{} }

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
