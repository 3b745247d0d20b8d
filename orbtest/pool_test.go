package orbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/runstate"
)

// sharedRun is one pool for several tests, as in one `go test` run.
func sharedRun(t *testing.T, d *memDriver) Option {
	return Options(withDriver(d.as()), withRun(t.TempDir(), "t"+RunID()))
}

// setupRuns counts how many times setup scripts ran, per script.
func setupCounter(d *memDriver) *sync.Map {
	var counts sync.Map
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		if argv[0] == "sh" {
			v, _ := counts.LoadOrStore(argv[2], new(int))
			d.mu.Lock()
			*v.(*int)++
			d.mu.Unlock()
		}
		return 0, "", ""
	}
	return &counts
}

func runTest(opts ...Option) (name string, ft *fakeTB) {
	ft = newFakeTB()
	ft.run(func(t testing.TB) { name = NewVM(t, opts...).Name() })
	return name, ft
}

func TestPoolReusesAndResetsMachines(t *testing.T) {
	d := newCloningDriver()
	counts := setupCounter(d)
	run := sharedRun(t, d)
	spec := Debian("bookworm").WithSetup("apt-get install -y curl")

	var first string
	ft := newFakeTB()
	ft.run(func(t testing.TB) {
		vm := NewVM(t, spec, run)
		first = vm.Name()
		d.mu.Lock()
		d.machines[first].files["/tmp/dirt"] = []byte("left by test 1")
		d.mu.Unlock()
	})
	require.False(t, ft.Failed(), ft.log())
	assert.Contains(t, ft.log(), "reset machine "+first+" for the next test")

	second, ft2 := runTest(spec, run)
	require.False(t, ft2.Failed(), ft2.log())
	assert.Equal(t, first, second, "the second test reuses the machine")
	assert.Contains(t, ft2.log(), "leased machine "+second+" (pool, reused)")
	d.mu.Lock()
	_, dirty := d.machines[second].files["/tmp/dirt"]
	d.mu.Unlock()
	assert.False(t, dirty, "the reset undid the first test's changes")

	v, _ := counts.Load("apt-get install -y curl")
	assert.Equal(t, 1, *v.(*int), "setup runs once per run, on the template")
	assert.Equal(t, 1, d.Calls("create"), "only the template is created; machines are clones")
	assert.Equal(t, 2, d.Calls("restore"))
	assert.Len(t, d.Names(), 2, "template and one pool machine")
}

func TestPoolSeparatesSpecs(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	a, _ := runTest(Debian("bookworm"), run)
	b, _ := runTest(Debian("trixie"), run)
	a2, _ := runTest(Debian("bookworm"), run)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, a2)
	assert.Equal(t, 2, d.Calls("create"), "one template per spec")
}

func TestFreshMachinesAreNeverReused(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	a, ft := runTest(Debian("bookworm"), Fresh(), run)
	assert.Contains(t, ft.log(), "deleted machine "+a)
	b, _ := runTest(Debian("bookworm"), Fresh(), run)
	assert.NotEqual(t, a, b)
	assert.NotContains(t, d.Names(), a)
	assert.NotContains(t, d.Names(), b)
	assert.Equal(t, 0, d.Calls("restore"))
}

func TestSharedMachineServesConcurrentTestsWithoutReset(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	var mu sync.Mutex
	names := map[string]int{}
	t.Run("group", func(t *testing.T) {
		for i := range 6 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				vm := NewVM(t, Debian("bookworm"), Shared(), run)
				mu.Lock()
				names[vm.Name()]++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // overlap
			})
		}
	})
	assert.Len(t, names, 1, "every Shared test gets the one machine")
	assert.Equal(t, 0, d.Calls("restore"), "shared machines are never reset")
}

func TestPoolCapHoldsUnderParallelTests(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "4")
	d := newCloningDriver()
	run := sharedRun(t, d)
	var mu sync.Mutex
	holders := map[string]string{}
	t.Run("group", func(t *testing.T) {
		for i := range 32 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				vm := NewVM(t, Debian("bookworm"), run)
				mu.Lock()
				if other, busy := holders[vm.Name()]; busy {
					t.Errorf("machine %s leased by %s and %s at once", vm.Name(), other, t.Name())
				}
				holders[vm.Name()] = t.Name()
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				delete(holders, vm.Name())
				mu.Unlock()
			})
		}
	})
	d.mu.Lock()
	peak := d.peak
	d.mu.Unlock()
	assert.LessOrEqual(t, peak, 4, "ORBTEST_MAX_VMS exceeded")
	assert.Positive(t, peak)
	assert.LessOrEqual(t, d.Calls("clone"), 4)
}

func TestWaitingForAMachineIsLoggedAndBoundedByTheContext(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "1")
	d := newCloningDriver()
	run := sharedRun(t, d)
	hold := newFakeTB()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		hold.run(func(t testing.TB) { NewVM(t, Debian("bookworm"), run); <-release })
	}()
	require.Eventually(t, func() bool { return d.Calls("snapshot") == 1 }, 5*time.Second, time.Millisecond)

	waiter := newFakeTB()
	waiter.deadline = time.Now().Add(time.Second)
	waiter.run(func(t testing.TB) { NewVM(t, Debian("bookworm"), run) })
	assert.True(t, waiter.Failed())
	assert.Contains(t, waiter.log(), "waiting for a machine of debian:bookworm: 1 of 1 in use")
	assert.Contains(t, waiter.log(), "raise ORBTEST_MAX_VMS")

	// Once released, a waiter gets the machine.
	close(release)
	<-done
	name, ft := runTest(Debian("bookworm"), run)
	assert.False(t, ft.Failed(), ft.log())
	assert.NotEmpty(t, name)
}

func TestIdleMachinesOfOtherSpecsAreEvictedAtTheCap(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "1")
	d := newCloningDriver()
	run := sharedRun(t, d)
	a, _ := runTest(Debian("bookworm"), run)
	b, ft := runTest(Ubuntu("24.04"), run)
	assert.False(t, ft.Failed(), ft.log())
	assert.Contains(t, ft.log(), "deleting idle machine "+a+" to make room")
	assert.NotContains(t, d.Names(), a)
	assert.Contains(t, d.Names(), b)
}

func TestEvictionTakesTheMachineIdleLongest(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "2")
	d := newCloningDriver()
	run := sharedRun(t, d)
	a, _ := runTest(Debian("bookworm"), run)
	b, _ := runTest(Ubuntu("24.04"), run)
	c, ft := runTest(Alpine("3.20"), run)
	assert.Contains(t, ft.log(), "deleting idle machine "+a+" to make room")
	_, ft = runTest(Debian("bookworm"), run)
	assert.Contains(t, ft.log(), "deleting idle machine "+b+" to make room")
	assert.Contains(t, d.Names(), c, "the machine used last stays")
}

func TestMachineOfADeadHolderIsRebuiltBeforeReuse(t *testing.T) {
	d := newCloningDriver()
	dir := t.TempDir()
	run := Options(withDriver(d.as()), withRun(dir, "dead"))
	name, _ := runTest(Debian("bookworm"), run)

	// Make it look as if a process died holding the lease: the record says
	// leased, but no one holds the lock.
	r := &runstate.Run{ID: "dead", Dir: filepath.Join(dir, "runs", "dead")}
	require.NoError(t, r.WithLock(func(tx *runstate.Tx) error {
		recs, _ := tx.Records()
		for _, rec := range recs {
			if rec.Name == name {
				rec.State = runstate.StateLeased
				return tx.Put(rec)
			}
		}
		return fmt.Errorf("no record of %s", name)
	}))
	clones := d.Calls("clone")
	again, ft := runTest(Debian("bookworm"), run)
	assert.False(t, ft.Failed(), ft.log())
	assert.Equal(t, name, again)
	assert.Equal(t, clones+1, d.Calls("clone"), "rebuilt from the template, not reused as it was")
	log, err := os.ReadFile(r.LogPath())
	require.NoError(t, err)
	assert.Contains(t, string(log), " reclaim "+name+" ")
}

func TestKeptPoolMachineIsNotReused(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	ft := newFakeTB()
	var kept string
	ft.run(func(t testing.TB) {
		kept = NewVM(t, Debian("bookworm"), run, WithKeep(KeepFailed)).Name()
		t.Errorf("fail")
	})
	assert.Contains(t, ft.log(), "keeping machine "+kept)
	next, _ := runTest(Debian("bookworm"), run)
	assert.NotEqual(t, kept, next)
	assert.Contains(t, d.Names(), kept)
}

func TestUserChecksRunOnEveryLease(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	var calls int
	var mu sync.Mutex
	check := NewCheck("service up", func(ctx context.Context, vm *VM) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return nil
	})
	runTest(Debian("bookworm"), run, WithReady(check))
	runTest(Debian("bookworm"), run, WithReady(check))
	assert.Equal(t, 2, calls)
}

func TestLeaseLogShowsExclusiveLeases(t *testing.T) {
	d := newCloningDriver()
	dir := t.TempDir()
	run := Options(withDriver(d.as()), withRun(dir, "log"))
	t.Setenv("ORBTEST_MAX_VMS", "2")
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				NewVM(t, Debian("bookworm"), run)
			})
		}
	})
	b, err := os.ReadFile(filepath.Join(dir, "runs", "log", "leases.log"))
	require.NoError(t, err)
	held := map[string]bool{}
	acquires := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		switch f[1] {
		case "acquire":
			assert.False(t, held[f[2]], "%s acquired while held", f[2])
			held[f[2]] = true
			acquires++
		case "release":
			held[f[2]] = false
		}
	}
	assert.Equal(t, 8, acquires)
}

func TestReusedMachineKnowsItsAddress(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	var addrs []string
	for range 2 {
		ft := newFakeTB()
		ft.run(func(t testing.TB) { addrs = append(addrs, NewVM(t, Debian("bookworm"), run).Address()) })
		require.False(t, ft.Failed(), ft.log())
	}
	assert.Equal(t, []string{"127.0.0.1", "127.0.0.1"}, addrs)
	assert.Equal(t, 2, d.Calls("restore"), "the second test reused the machine")
}

func TestFreshAndSharedEvictIdleMachinesAtTheCap(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "1")
	d := newCloningDriver()
	run := sharedRun(t, d)
	pooled, _ := runTest(Debian("bookworm"), run)

	fresh, ft := runTest(Debian("bookworm"), Fresh(), run)
	require.False(t, ft.Failed(), ft.log())
	assert.Contains(t, ft.log(), "deleting idle machine "+pooled)

	shared, ft := runTest(Debian("bookworm"), Shared(), run)
	require.False(t, ft.Failed(), ft.log())
	assert.NotEqual(t, fresh, shared)

	// The shared machine, unused now, makes room for another spec.
	other, ft := runTest(Ubuntu("24.04"), run)
	require.False(t, ft.Failed(), ft.log())
	assert.Contains(t, ft.log(), "deleting idle machine "+shared)
	assert.Contains(t, d.Names(), other)
	assert.NotContains(t, d.Names(), shared)
}

func TestPoolKeyCoversFileContents(t *testing.T) {
	d := newCloningDriver()
	run := sharedRun(t, d)
	file := filepath.Join(t.TempDir(), "config")
	spec := Debian("bookworm").WithFile(file, "/etc/app/config")

	require.NoError(t, os.WriteFile(file, []byte("v1"), 0o644))
	first, _ := runTest(spec, run)
	require.NoError(t, os.WriteFile(file, []byte("v2"), 0o644))
	second, _ := runTest(spec, run)

	assert.NotEqual(t, first, second, "a machine holding v1 must not serve a spec that copies v2")
	assert.Equal(t, 2, d.Calls("create"), "one template per content")
	d.mu.Lock()
	defer d.mu.Unlock()
	assert.Equal(t, "v2", string(d.machines[second].files["/etc/app/config"]))
}

func TestPoolTemplateSetupFailureReadsOnce(t *testing.T) {
	d := newCloningDriver()
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		if argv[0] == "sh" {
			return 100, "", "E: Unable to locate package nope"
		}
		return 0, "", ""
	}
	_, ft := runTest(Debian("bookworm").WithSetup("apt-get install -y nope"), sharedRun(t, d))
	require.True(t, ft.Failed())
	log := ft.log()
	assert.Regexp(t, `orbtest: template "orbtest-[a-z0-9-]+-tpl" for debian:bookworm setup=1: setup step 1 of 1: command sh -c .* exited 100: E: Unable to locate package nope`, log)
	assert.Equal(t, 1, strings.Count(log, "orbtest: template"), log)
	assert.NotContains(t, log, "orbtest: machine", "the template is named once, as the template")
	assert.Empty(t, d.Names(), "the failed template is deleted")
}
