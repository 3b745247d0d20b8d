package integration_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

func TestReadyChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()

	var mu sync.Mutex
	var order []string
	record := func(name string) orbtest.Check {
		return orbtest.NewCheck(name, func(context.Context, *orbtest.VM) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			return nil
		})
	}
	failing := func(name string) orbtest.Check {
		return orbtest.NewCheck(name, func(context.Context, *orbtest.VM) error { return errors.New(name + " is never ready") })
	}
	var flakyCalls atomic.Int32
	flaky := orbtest.NewCheck("flaky", func(context.Context, *orbtest.VM) error {
		if n := flakyCalls.Add(1); n < 3 {
			return fmt.Errorf("not yet (attempt %d)", n)
		}
		return nil
	})
	var seen atomic.Pointer[orbtest.VM]
	var seenHostname atomic.Value
	identity := orbtest.NewCheck("identity", func(ctx context.Context, vm *orbtest.VM) error {
		seen.Store(vm)
		res, err := vm.Run(ctx, "cat", "/etc/hostname")
		if err != nil {
			return err
		}
		seenHostname.Store(res.Stdout)
		return nil
	})

	vm := orbtest.NewVM(t, base, orbtest.Shared(), orbtest.WithReady(
		orbtest.Running(),
		orbtest.CommandSucceeds("test", "-f", "/etc/os-release"),
		orbtest.SystemdRunning(),
		orbtest.FileExists("/etc/debian_version"),
		orbtest.All(record("all-1"), record("all-2"), record("all-3")),
		orbtest.Any(failing("any-never"), record("any-second")),
		// A permanent failure of one alternative does not stop Any.
		orbtest.Any(orbtest.NewCheck("any-permanent", func(context.Context, *orbtest.VM) error {
			return orbtest.Permanent(errors.New("gone for good"))
		}), record("any-after-permanent")),
		flaky,
		identity,
	), orbtest.WithReadyTimeout(2*time.Minute))

	assert.Equal(t, []string{"all-1", "all-2", "all-3", "any-second", "any-after-permanent"}, order)
	assert.EqualValues(t, 3, flakyCalls.Load(), "a failing check is polled until it passes")
	assert.Same(t, vm, seen.Load(), "checks see the VM NewVM returns")
	assert.Equal(t, vm.MustRun(t, "cat", "/etc/hostname"), seenHostname.Load())

	// What the built-in checks waited for holds.
	state, _ := vm.Exec(t.Context(), orbtest.Command("systemctl", "is-system-running").AsUser("root"))
	require.NotNil(t, state)
	assert.Contains(t, []string{"running\n", "degraded\n"}, state.Stdout)

	// Check names are what logs and errors show.
	assert.Equal(t, "running", orbtest.Running().String())
	assert.Equal(t, "systemd running", orbtest.SystemdRunning().String())
	assert.Equal(t, "cloud-init done", orbtest.CloudInitDone().String())
	assert.Equal(t, "file /etc/x exists", orbtest.FileExists("/etc/x").String())
	assert.Equal(t, "port 80 listening", orbtest.PortListening(80).String())
	assert.Equal(t, "port 80 reachable from the host", orbtest.PortReachable(80).String())
	assert.Equal(t, `command test -f '/a b' succeeds`, orbtest.CommandSucceeds("test", "-f", "/a b").String())
	assert.Equal(t, "a and b", orbtest.All(record("a"), record("b")).String())
	assert.Equal(t, "a or b", orbtest.Any(record("a"), record("b")).String())
}

func TestCloudInit(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	// NewVM waits for cloud-init by itself when the spec has user data; the
	// explicit checks also run, after it.
	// Fresh: cloud-init is about a first boot, and a machine deleted after
	// the test costs less than a reset, which waits for cloud-init again.
	vm := orbtest.NewVM(t, cloud, orbtest.Fresh(),
		orbtest.WithReady(orbtest.CloudInitDone(), orbtest.FileExists(cloudInitFile)))
	assert.Equal(t, "written by cloud-init ✓\n", vm.MustRun(t, "cat", cloudInitFile))
	assert.Equal(t, "runcmd ran\n", vm.MustRun(t, "cat", "/var/lib/orbtest-runcmd.txt"))
	status := vm.MustExec(t, orbtest.Command("cloud-init", "status").AsUser("root")).Stdout
	assert.Contains(t, status, "status: done")
	assert.Contains(t, vm.Spec().String(), "cloud-init")
}

func TestReadyFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	// The failure cases use StartVM, which returns the error instead of
	// failing the test. A Shared machine tells which backend runs them (and
	// skips the test when there is none).
	backend := orbtest.NewVM(t, base, orbtest.Shared()).Backend()

	// startFail starts a machine that must fail to become ready, and checks
	// that StartVM returns no VM and leaves no machine behind.
	startFail := func(t *testing.T, timeout time.Duration, checks ...orbtest.Check) (error, time.Duration) {
		t.Helper()
		var logs logLines
		start := time.Now()
		vm, err := orbtest.StartVM(t.Context(), base,
			orbtest.WithReady(checks...), orbtest.WithReadyTimeout(timeout), orbtest.WithLogf(logs.logf))
		elapsed := time.Since(start)
		if vm != nil { // StartVM machines are the caller's
			defer func() { assert.NoError(t, vm.Delete(context.WithoutCancel(t.Context()))) }()
		}
		require.Error(t, err, "StartVM should fail")
		assert.Nil(t, vm)
		name := logs.machine()
		require.NotEmpty(t, name, "no machine was created; log:\n%s", &logs)
		assert.False(t, machineExists(t, backend, name), "StartVM left machine %s behind", name)
		t.Logf("StartVM failed after %s: %v", elapsed.Round(time.Millisecond), err)
		return err, elapsed
	}

	t.Run("permanent fails fast", func(t *testing.T) {
		t.Parallel()
		var calls, after atomic.Int32
		doomed := orbtest.NewCheck("doomed", func(context.Context, *orbtest.VM) error {
			calls.Add(1)
			return orbtest.Permanent(errors.New("the database is corrupt"))
		})
		broken := orbtest.NewCheck("broken", func(context.Context, *orbtest.VM) error {
			return orbtest.Permanent(errors.New("the disk is gone"))
		})
		later := orbtest.NewCheck("later", func(context.Context, *orbtest.VM) error { after.Add(1); return nil })
		// Any fails, permanently, only when every alternative has.
		err, elapsed := startFail(t, 5*time.Minute, orbtest.Any(doomed, broken), later)
		msg := err.Error()
		for _, want := range []string{"doomed or broken", "the database is corrupt", "the disk is gone"} {
			assert.Contains(t, msg, want)
		}
		assert.EqualValues(t, 1, calls.Load(), "a permanent error is not retried")
		assert.Zero(t, after.Load(), "checks after a failed one never run")
		assert.Less(t, elapsed, time.Minute, "far less than WithReadyTimeout")
	})

	t.Run("timeout reports the last state", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		never := orbtest.NewCheck("never ready", func(context.Context, *orbtest.VM) error {
			return fmt.Errorf("still waiting (attempt %d)", calls.Add(1))
		})
		// The timeout also bounds the built-in waits (running, an address),
		// which take seconds on a busy host: keep it well above that.
		const timeout = 10 * time.Second
		err, elapsed := startFail(t, timeout,
			orbtest.FileExists("/etc/hostname"),
			orbtest.Any(never, orbtest.FileExists("/nonexistent/orbtest"), orbtest.PortListening(9), orbtest.PortReachable(9)))
		n := calls.Load()
		assert.Greater(t, n, int32(3), "polled more than a few times in %s", timeout)
		msg := err.Error()
		// The last attempt may have been cut short by the deadline after
		// the never check ran: then it is not counted or reported.
		m := regexp.MustCompile(`\((\d+) attempts\)`).FindStringSubmatch(msg)
		require.NotNil(t, m, msg)
		k64, _ := strconv.ParseInt(m[1], 10, 32)
		k := int32(k64)
		assert.Contains(t, []int32{n - 1, n}, k, "attempts reported, of %d calls", n)
		for _, want := range []string{
			"not ready after",
			"last check saw: never ready: still waiting " + fmt.Sprintf("(attempt %d)", k),
			"file /nonexistent/orbtest exists: ",
			"exited 1",
			"port 9 listening: nothing listens on port 9",
			"port 9 reachable from the host: ",
			"refused",
		} {
			assert.Contains(t, msg, want)
		}
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, elapsed, timeout)
		assert.Less(t, elapsed, timeout+2*time.Minute)
	})
}
