package orbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// These tests run this test binary again as a child `go test` process that
// leases machines through the real NewVM path and then passes, fails,
// panics, times out, or is interrupted or killed. They check that every
// machine of the child's run is gone within reapBound afterwards, with no
// TestMain and nothing done by the child's tests. They run on the fake
// orbctl always, and on Incus where it is installed.

// reapBound is the promise: a run's machines are gone this soon after it ends.
const reapBound = 30 * time.Second

const childEnv = "ORBTEST_TEST_CHILD"

// TestChildProcess is what the child runs; it does nothing unless started
// by the tests below.
func TestChildProcess(t *testing.T) {
	scenario := os.Getenv(childEnv)
	if scenario == "" {
		t.Skip("skipping test: runs only as a child process of the crash-safety tests (" + childEnv + " unset)")
	}
	spec := Debian("bookworm")
	switch scenario {
	case "pass":
		vm := NewVM(t, spec)
		if out := vm.MustRun(t, "echo", "hello"); out != "hello\n" {
			t.Fatalf("echo hello = %q", out)
		}
	case "fatal":
		NewVM(t, spec)
		t.Fatal("boom from the child")
	case "panic":
		NewVM(t, spec)
		panic("boom from the child")
	case "notready":
		NewVM(t, spec, WithReady(FileExists("/nonexistent/orbtest-never")), WithReadyTimeout(3*time.Second))
	case "hang":
		NewVM(t, spec)
		require.NoError(t, os.WriteFile(os.Getenv("ORBTEST_TEST_READY"), nil, 0o644))
		time.Sleep(time.Hour)
	case "permanent":
		NewVM(t, Debian("nosuchrelease"))
	case "parallel": // ORBTEST_TEST_N tests (32), each holding its machine ORBTEST_TEST_HOLD
		n, hold := 32, time.Duration(0)
		if v := os.Getenv("ORBTEST_TEST_N"); v != "" {
			n, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("ORBTEST_TEST_HOLD"); v != "" {
			hold, _ = time.ParseDuration(v)
		}
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				vm := NewVM(t, spec)
				vm.MustRun(t, "true")
				time.Sleep(hold)
			})
		}
	case "mixed": // ORBTEST_TEST_N tests asking for 1, 2 and 3 machines in turn
		n, _ := strconv.Atoi(os.Getenv("ORBTEST_TEST_N"))
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				var names []string
				for _, vm := range NewVMs(t, i%3+1, spec) {
					vm.MustRun(t, "true")
					names = append(names, vm.Name())
				}
				t.Logf("request %s", strings.Join(names, ","))
				time.Sleep(20 * time.Millisecond)
			})
		}
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
}

// crashTarget is a backend the children use.
type crashTarget struct {
	name     string
	env      []string
	machines func(t *testing.T) []string
	remove   func(name string) // deletes what a failed test leaves, best effort
	timeout  string            // -test.timeout for the timeout scenario
}

func fakeTarget(t *testing.T) crashTarget {
	f := fakeorbctl.New(t)
	return crashTarget{
		name:     "fake orbctl",
		env:      append(f.Environ(), "ORBTEST_BACKEND=orbstack", "ORBTEST_ORBCTL="+f.Bin),
		machines: func(*testing.T) []string { return f.Machines() },
		remove:   func(name string) { _ = f.Command("delete", name).Run() },
		timeout:  "8s",
	}
}

func incusTarget(t *testing.T) crashTarget {
	d, err := backends.Incus(t.Context())
	if err != nil {
		skipUnavailable(t, err)
	}
	return crashTarget{
		name: "incus",
		env:  append(os.Environ(), "ORBTEST_BACKEND=incus"),
		machines: func(t *testing.T) []string {
			ms, err := d.List(context.Background())
			require.NoError(t, err)
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			return names
		},
		remove:  func(name string) { _ = d.Delete(context.Background(), name) },
		timeout: "40s",
	}
}

func (tg crashTarget) runMachines(t *testing.T, run string) []string {
	var names []string
	for _, n := range tg.machines(t) {
		if naming.RunOf(n) == run {
			names = append(names, n)
		}
	}
	return names
}

type child struct {
	cmd   *exec.Cmd
	out   bytes.Buffer
	run   string
	state string
	ready string
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "c" + hex.EncodeToString(b[:])
}

// startChild starts the child scenario in run (a new run when empty) with
// the state directory state (a new one when empty).
func startChild(t *testing.T, tg crashTarget, scenario, run, state string, extra ...string) *child {
	t.Helper()
	if run == "" {
		run = newRunID()
	}
	if state == "" {
		state = t.TempDir()
	}
	c := &child{run: run, state: state, ready: filepath.Join(t.TempDir(), "ready")}
	args := []string{"-test.run=^TestChildProcess$", "-test.v"}
	if scenario == "parallel" || scenario == "mixed" {
		args = append(args, "-test.parallel=4") // whatever GOMAXPROCS is
	}
	if scenario == "timeout" {
		args = append(args, "-test.timeout="+tg.timeout)
		scenario = "hang"
	}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Env = append(append(append([]string(nil), tg.env...),
		childEnv+"="+scenario,
		"ORBTEST_RUN_ID="+run,
		"ORBTEST_STATE_DIR="+state,
		"ORBTEST_TEST_READY="+c.ready,
		"ORBTEST_KEEP=never",
		"ORBTEST_REQUIRE=1",
		// Cache entries belong to the state directory, which is the
		// test's temporary one: an entry kept there would outlive it.
		"ORBTEST_CACHE=off",
	), extra...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	require.NoError(t, c.cmd.Start())
	stop := time.AfterFunc(4*time.Minute, func() { _ = c.cmd.Process.Kill() }) // never hang the parent
	t.Cleanup(func() { stop.Stop(); _ = c.cmd.Process.Kill() })
	return c
}

func (c *child) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(c.ready); err == nil {
			return
		}
		if c.cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("child never leased its machine:\n%s", c.out.String())
}

// wait waits for the child and returns its exit code, -1 when a signal
// ended it.
func (c *child) wait() int {
	_ = c.cmd.Wait()
	return c.cmd.ProcessState.ExitCode()
}

// waitGone waits until no machine of run is left, and fails the test when
// some are still there after reapBound.
func waitGone(t *testing.T, tg crashTarget, run, state string) time.Duration {
	t.Helper()
	return waitGoneBy(t, tg, run, state, true)
}

// waitSwept is waitGone for a run that had no reaper: the sweep of
// another run deletes its machines.
func waitSwept(t *testing.T, tg crashTarget, run, state string) {
	t.Helper()
	waitGoneBy(t, tg, run, state, false)
}

func waitGoneBy(t *testing.T, tg crashTarget, run, state string, reaper bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		left := tg.runMachines(t, run)
		if len(left) == 0 && !reaper {
			return time.Since(start)
		}
		if len(left) == 0 {
			took := time.Since(start)
			// The reaper's last act is its line in reaped.log; until then it
			// may still write in the state directory, which the test removes.
			require.Eventually(t, func() bool {
				b, _ := os.ReadFile(runstate.ReapedLog(state))
				return strings.Contains(string(b), " run "+run+": owner gone at ")
			}, reapBound, 20*time.Millisecond, "the reaper of run %s notes it in %s", run, runstate.ReapedLog(state))
			return took
		}
		if time.Since(start) > reapBound {
			log, _ := os.ReadFile(filepath.Join(state, "runs", run, "reaper.log"))
			for _, name := range left {
				tg.remove(name) // the test failed; its machines still go
			}
			t.Fatalf("machines of run %s still there %s after it ended: %v\nreaper log:\n%s", run, reapBound, left, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestNothingLeftBehindOnFakeOrbctl(t *testing.T) { testNothingLeftBehind(t, fakeTarget(t)) }

func TestNothingLeftBehindOnIncus(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	testNothingLeftBehind(t, incusTarget(t))
}

func testNothingLeftBehind(t *testing.T, tg crashTarget) {
	for _, tt := range []struct {
		scenario string
		signal   os.Signal // sent once the child holds its machine
		wantCode int
		wantOut  string
		extraEnv []string
		fakeOnly bool // needs the fake's fault injection
	}{
		{scenario: "pass", wantCode: 0, wantOut: "--- PASS: TestChildProcess"},
		{scenario: "fatal", wantCode: 1, wantOut: "boom from the child"},
		{scenario: "panic", wantCode: 2, wantOut: "panic: boom from the child"},
		{scenario: "notready", wantCode: 1, wantOut: "file /nonexistent/orbtest-never exists: not ready after"},
		{scenario: "permanent", wantCode: 1, wantOut: "nosuchrelease"},
		{scenario: "pass", wantCode: 0, wantOut: "attempt 2 failed, retrying", fakeOnly: true,
			extraEnv: []string{"FAKEORBCTL_CREATE_FAIL=2"}},
		{scenario: "timeout", wantCode: 2, wantOut: "panic: test timed out"},
		{scenario: "hang", signal: syscall.SIGINT, wantCode: -1},
		{scenario: "hang", signal: syscall.SIGKILL, wantCode: -1},
		{scenario: "parallel", wantCode: 0, wantOut: "--- PASS: TestChildProcess", extraEnv: []string{"ORBTEST_MAX_VMS=4"}},
	} {
		name := tt.scenario
		if tt.fakeOnly {
			if tg.name != "fake orbctl" {
				continue
			}
			name += "/transient"
		}
		if tt.signal != nil {
			name += "/" + tt.signal.String()
		}
		t.Run(name, func(t *testing.T) {
			c := startChild(t, tg, tt.scenario, "", "", tt.extraEnv...)
			if tt.signal != nil {
				c.waitReady(t)
				require.NotEmpty(t, tg.runMachines(t, c.run), "the child holds a machine")
				require.NoError(t, c.cmd.Process.Signal(tt.signal))
			}
			code := c.wait()
			assert.Equal(t, tt.wantCode, code, "child output:\n%s", c.out.String())
			if tt.wantOut != "" {
				assert.Contains(t, c.out.String(), tt.wantOut)
			}
			took := waitGone(t, tg, c.run, c.state)
			t.Logf("%s: every machine of run %s gone %s after the child ended", tg.name, c.run, took.Round(time.Millisecond))
			assert.Eventually(t, func() bool {
				b, _ := os.ReadFile(runstate.ReapedLog(c.state))
				return strings.Contains(string(b), " run "+c.run+": owner gone at ")
			}, 10*time.Second, 20*time.Millisecond, "the reaper notes the run it ended in %s", runstate.ReapedLog(c.state))
		})
	}
}

func TestRunsShareAPoolAcrossProcessesOnFakeOrbctl(t *testing.T) {
	testRunsShareAPool(t, fakeTarget(t))
}

func TestRunsShareAPoolAcrossProcessesOnIncus(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	testRunsShareAPool(t, incusTarget(t))
}

// testRunsShareAPool runs two child processes of one run at once, as
// `go test ./...` runs two packages, with 2 machines for 40 tests; the
// lease log shows no machine held by two tests at once, and the machine
// the shorter process leaves passed to the other.
func testRunsShareAPool(t *testing.T, tg crashTarget) {
	owner := exec.Command("sleep", "600") // plays the go command
	require.NoError(t, owner.Start())
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	run, state := newRunID(), t.TempDir()
	env := []string{"ORBTEST_MAX_VMS=2", fmt.Sprintf("ORBTEST_RUN_OWNER=%d", owner.Process.Pid)}
	a := startChild(t, tg, "parallel", run, state, append(env, "ORBTEST_TEST_N=32")...)
	b := startChild(t, tg, "parallel", run, state, append(env, "ORBTEST_TEST_N=8")...)
	assert.Equal(t, 0, a.wait(), a.out.String())
	assert.Equal(t, 0, b.wait(), b.out.String())

	assert.NotEmpty(t, tg.runMachines(t, run), "the run's machines outlive its processes while the run lives")
	events := leaseEvents(t, state, run)
	users := map[string]map[int]bool{}
	for _, e := range events {
		if e.event == "acquire" {
			if users[e.machine] == nil {
				users[e.machine] = map[int]bool{}
			}
			users[e.machine][e.pid] = true
		}
	}
	assert.Equal(t, 40, countEvents(events, "acquire"))
	assert.LessOrEqual(t, len(users), 2, "ORBTEST_MAX_VMS=2 across both processes")
	shared := false
	for _, pids := range users {
		shared = shared || len(pids) == 2
	}
	assert.True(t, shared, "a machine passed between the two processes: %v", users)

	// The run ends when its owner does.
	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	took := waitGone(t, tg, run, state)
	t.Logf("%s: run %s cleaned up %s after its owner ended", tg.name, run, took.Round(time.Millisecond))
}

// TestWaitingIsFairAcrossProcesses holds a run to one machine while one
// process runs 24 tests on it; a second process of the run that starts
// waiting meanwhile gets the machine in its turn, not when the first
// process is done.
func TestWaitingIsFairAcrossProcesses(t *testing.T) {
	tg := fakeTarget(t)
	owner := exec.Command("sleep", "600")
	require.NoError(t, owner.Start())
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	run, state := newRunID(), t.TempDir()
	env := []string{"ORBTEST_MAX_VMS=1", fmt.Sprintf("ORBTEST_RUN_OWNER=%d", owner.Process.Pid)}
	a := startChild(t, tg, "parallel", run, state, append(env, "ORBTEST_TEST_N=24", "ORBTEST_TEST_HOLD=150ms")...)
	require.Eventually(t, func() bool {
		log, _ := os.ReadFile(filepath.Join(state, "runs", run, "leases.log"))
		return strings.Count(string(log), " acquire ") >= 2
	}, time.Minute, 10*time.Millisecond, "the first process never got going:\n%s", &a.out)
	b := startChild(t, tg, "parallel", run, state, append(env, "ORBTEST_TEST_N=1")...)
	assert.Equal(t, 0, b.wait(), b.out.String())
	assert.Equal(t, 0, a.wait(), a.out.String())

	events := leaseEvents(t, state, run)
	bPid := b.cmd.Process.Pid
	after := -1 // acquires of the first process after the second's
	for _, e := range events {
		switch {
		case e.event == "acquire" && e.pid == bPid:
			after = 0
		case e.event == "acquire" && after >= 0:
			after++
		}
	}
	require.GreaterOrEqual(t, after, 0, "the second process never acquired")
	// It queued behind at most the first process's 3 other waiters (and
	// any that queued while it started): it must not wait for all 24.
	assert.GreaterOrEqual(t, after, 4, "the second process waited until the first was (nearly) done; lease log:\n%v", events)
	t.Logf("the first process acquired the machine %d more times after the second process had it", after)

	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	waitGone(t, tg, run, state)
}

type leaseEvent struct {
	event, machine string
	pid            int
}

// leaseEvents reads a run's lease log, checking that no machine is ever
// acquired while held, and released only by its holder.
func leaseEvents(t *testing.T, state, run string) []leaseEvent {
	t.Helper()
	log, err := os.ReadFile(filepath.Join(state, "runs", run, "leases.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var events []leaseEvent
	holder := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		f := strings.Fields(line) // time event machine pid
		if len(f) != 4 {
			continue // being written
		}
		pid, err := strconv.Atoi(f[3])
		require.NoError(t, err, line)
		e := leaseEvent{event: f[1], machine: f[2], pid: pid}
		switch e.event {
		case "acquire":
			require.Zero(t, holder[e.machine], "%s acquired by %d while held by %d", e.machine, pid, holder[e.machine])
			holder[e.machine] = pid
		case "release":
			assert.Equal(t, holder[e.machine], pid, "%s released by a process that did not hold it", e.machine)
			holder[e.machine] = 0
		}
		events = append(events, e)
	}
	return events
}

// countEvents counts events of a kind.
func countEvents(events []leaseEvent, kind string) int {
	n := 0
	for _, e := range events {
		if e.event == kind {
			n++
		}
	}
	return n
}

func TestSweepDeletesOnlyDeadRunsOnFakeOrbctl(t *testing.T) {
	tg := fakeTarget(t)
	state := t.TempDir()

	// Run C is alive (its owner runs) and idle between its processes.
	owner := exec.Command("sleep", "600")
	require.NoError(t, owner.Start())
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	c := startChild(t, tg, "pass", "", state, fmt.Sprintf("ORBTEST_RUN_OWNER=%d", owner.Process.Pid))
	require.Equal(t, 0, c.wait(), c.out.String())

	// Run A crashes with no reaper: its machines stay behind.
	a := startChild(t, tg, "hang", "", state, "ORBTEST_NO_REAPER=1")
	a.waitReady(t)
	require.NoError(t, a.cmd.Process.Kill())
	a.wait()
	time.Sleep(time.Second)
	require.NotEmpty(t, tg.runMachines(t, a.run), "nothing deletes run A's machines yet")
	require.NotEmpty(t, tg.runMachines(t, c.run))

	// Run B starts: its sweep deletes A's machines and leaves C's alone.
	b := startChild(t, tg, "pass", "", state)
	require.Equal(t, 0, b.wait(), b.out.String())
	waitSwept(t, tg, a.run, state)
	assert.NotEmpty(t, tg.runMachines(t, c.run), "the sweep must not touch a live run")

	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	waitGone(t, tg, c.run, state)
	// B's reaper ends B's run when B exits: it too writes in the state
	// directory until it is done.
	waitGone(t, tg, b.run, state)
}
