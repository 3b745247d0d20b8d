package orbtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewVMsGivesDistinctReadyMachines(t *testing.T) {
	d := newCloningDriver()
	ft := newFakeTB()
	var names []string
	ft.run(func(tb testing.TB) {
		for _, vm := range NewVMs(tb, 3, Debian("bookworm"), testRun(t, d)) {
			names = append(names, vm.Name())
			_, err := vm.Run(t.Context(), "true")
			assert.NoError(t, err)
		}
	})
	require.False(t, ft.Failed(), ft.log())
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(names))), 3, "names %q", names)
	assert.Equal(t, 3, d.Calls("restore"), "each machine was reset for the next test")
}

func TestNewVMsOverTheCapFailsAtOnce(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "2")
	d := newCloningDriver()
	ft := newFakeTB()
	ft.run(func(tb testing.TB) { NewVMs(tb, 3, Debian("bookworm"), testRun(t, d)) })
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), "orbtest: 3 machines of debian:bookworm can never be leased at once: ORBTEST_MAX_VMS=2 lets the run hold 2; raise ORBTEST_MAX_VMS to 3 or more")
	assert.Empty(t, d.Names(), "a machine was made for a request that can never be met")
}

func TestNewVMsBadRequests(t *testing.T) {
	for _, tc := range []struct {
		reason string
		n      int
		opts   []Option
		want   string
	}{
		{"no machines", 0, nil, "orbtest: NewVMs(t, 0): n must be at least 1"},
		{"negative", -2, nil, "orbtest: NewVMs(t, -2): n must be at least 1"},
		{"several Shared", 2, []Option{Shared()}, "orbtest: NewVMs(t, 2, Shared()): a Shared machine is one machine for every test"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			d := newCloningDriver()
			ft := newFakeTB()
			ft.run(func(tb testing.TB) { NewVMs(tb, tc.n, append(tc.opts, Debian("bookworm"), testRun(t, d))...) })
			assert.True(t, ft.Failed())
			assert.Contains(t, ft.log(), tc.want)
			assert.Zero(t, d.Calls("create"), "bad input touched the backend")
		})
	}
}

func TestASecondNewVMThatWouldWaitFailsAtOnce(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "1")
	d := newCloningDriver()
	run := sharedRun(t, d)
	ft := newFakeTB()
	ft.deadline = time.Now().Add(time.Minute)
	start := time.Now()
	ft.run(func(tb testing.TB) {
		NewVM(tb, Debian("bookworm"), run)
		NewVM(tb, Debian("bookworm"), run)
	})
	assert.True(t, ft.Failed())
	assert.Less(t, time.Since(start), 10*time.Second, "the second NewVM waited")
	assert.Contains(t, ft.log(), "the test holds 1 pool or Fresh machine(s) already and the run has no room for 1 more of debian:bookworm now (1 of 1 in use, ORBTEST_MAX_VMS)")
	assert.Contains(t, ft.log(), "NewVMs(t, n, ...)")

	// With room, a second NewVM is served, and the count of what a test
	// holds ends with it.
	t.Setenv("ORBTEST_MAX_VMS", "2")
	ok := newFakeTB()
	ok.run(func(tb testing.TB) {
		a, b := NewVM(tb, Debian("bookworm"), sharedRun(t, d)), NewVM(tb, Debian("bookworm"), sharedRun(t, d))
		assert.NotEqual(t, a.Name(), b.Name())
	})
	assert.False(t, ok.Failed(), ok.log())
	_, held := holders.Load(testing.TB(ok))
	assert.False(t, held, "the test's count outlived it")
}

// TestMixedRequestsAllFinishWithinTheCap runs parallel tests asking for 1,
// 2 and 3 machines at a cap of 3. Were requests not all or nothing, tests
// holding part of theirs would wait for each other forever; none may, the
// cap holds, and the lease log shows each request's machines taken in one
// step.
func TestMixedRequestsAllFinishWithinTheCap(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "3")
	d := newCloningDriver()
	dir, id := t.TempDir(), "t"+RunID()
	run := Options(withDriver(d.as()), withRun(dir, id))
	var mu sync.Mutex
	holder := map[string]string{}
	var requests [][]string
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Run("group", func(t *testing.T) {
			for i := range 18 {
				n := i%3 + 1
				t.Run(fmt.Sprintf("%d-of-%d", i, n), func(t *testing.T) {
					t.Parallel()
					vms := NewVMs(t, n, Debian("bookworm"), run)
					var names []string
					mu.Lock()
					for _, vm := range vms {
						if other, busy := holder[vm.Name()]; busy {
							t.Errorf("machine %s leased by %s and %s at once", vm.Name(), other, t.Name())
						}
						holder[vm.Name()] = t.Name()
						names = append(names, vm.Name())
					}
					requests = append(requests, names)
					mu.Unlock()
					assert.Len(t, vms, n)
					mu.Lock()
					for _, vm := range vms {
						delete(holder, vm.Name())
					}
					mu.Unlock()
				})
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("parallel tests asking for 1, 2 and 3 machines did not all finish: they wait for each other")
	}
	d.mu.Lock()
	peak := d.peak
	d.mu.Unlock()
	assert.LessOrEqual(t, peak, 3, "ORBTEST_MAX_VMS exceeded")
	assert.Len(t, requests, 18)

	// Each request's machines were acquired together: its names are
	// consecutive among the log's acquire lines.
	acquired := acquireLines(t, filepath.Join(dir, "runs", id, "leases.log"))
	for _, names := range requests {
		i := slices.Index(acquired, names[0])
		require.GreaterOrEqual(t, i, 0)
		found := false
		for j := i; j >= 0 && j < len(acquired); j = nextIndex(acquired, names[0], j) {
			if j+len(names) <= len(acquired) && sameSet(acquired[j:j+len(names)], names) {
				found = true
				break
			}
		}
		assert.True(t, found, "the machines %q were not acquired in one step", names)
	}
}

// acquireLines returns the machine names of the lease log's acquire lines,
// in order.
func acquireLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 3 && fs[1] == "acquire" {
			names = append(names, fs[2])
		}
	}
	return names
}

func nextIndex(s []string, v string, after int) int {
	if i := slices.Index(s[after+1:], v); i >= 0 {
		return after + 1 + i
	}
	return -1
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestAShareMachineHeldDoesNotStopATestFromWaiting(t *testing.T) {
	t.Setenv("ORBTEST_MAX_VMS", "2")
	d := newCloningDriver()
	run := sharedRun(t, d)
	hold := newFakeTB()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		hold.run(func(tb testing.TB) { NewVM(tb, Debian("bookworm"), run); <-release })
	}()
	require.Eventually(t, func() bool { return d.Calls("snapshot") == 1 }, 5*time.Second, time.Millisecond)

	ft := newFakeTB()
	got := make(chan string, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished) // its cleanup writes into the run's directory
		ft.run(func(tb testing.TB) {
			NewVM(tb, Ubuntu("24.04"), Shared(), run) // the second of two machines
			got <- NewVM(tb, Debian("bookworm"), run).Name()
		})
	}()
	require.Eventually(t, func() bool { return strings.Contains(ft.log(), "waiting for a machine of debian:bookworm") }, 10*time.Second, time.Millisecond)
	close(release)
	<-done
	select {
	case name := <-got:
		assert.NotEmpty(t, name)
	case <-time.After(time.Minute):
		t.Fatal("the waiting test never got the machine released")
	}
	<-finished
	assert.False(t, ft.Failed(), ft.log())
}

// TestMixedRequestsAcrossProcesses runs three processes of one run at a
// cap of 3, each with tests asking for 1, 2 and 3 machines. Every test
// finishes; the lease log never shows more than 3 machines held at once,
// and each request's machines are acquired in one step, so no test held
// part of a request while it waited for the rest.
func TestMixedRequestsAcrossProcesses(t *testing.T) {
	tg := fakeTarget(t)
	owner := exec.Command("sleep", "600") // plays the go command
	require.NoError(t, owner.Start())
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	run, state := newRunID(), t.TempDir()
	env := []string{"ORBTEST_MAX_VMS=3", fmt.Sprintf("ORBTEST_RUN_OWNER=%d", owner.Process.Pid), "ORBTEST_TEST_N=9"}
	children := []*child{
		startChild(t, tg, "mixed", run, state, env...),
		startChild(t, tg, "mixed", run, state, env...),
		startChild(t, tg, "mixed", run, state, env...),
	}
	var requests [][]string
	waited := false
	for _, c := range children {
		require.Equal(t, 0, c.wait(), c.out.String())
		waited = waited || strings.Contains(c.out.String(), "waiting for")
		for _, line := range strings.Split(c.out.String(), "\n") {
			if _, list, ok := strings.Cut(line, "request "); ok {
				requests = append(requests, strings.Split(strings.TrimSpace(list), ","))
			}
		}
	}
	require.Len(t, requests, 27, "every test of every process reported its machines")
	assert.True(t, waited, "no test ever waited: the cap did not bind")

	held, peak := map[string]bool{}, 0
	for _, e := range leaseEvents(t, state, run) { // also: no machine held twice
		switch e.event {
		case "acquire":
			held[e.machine] = true
		case "release":
			delete(held, e.machine)
		}
		peak = max(peak, len(held))
	}
	assert.LessOrEqual(t, peak, 3, "ORBTEST_MAX_VMS=3 across the run's processes")

	acquired := acquireLines(t, filepath.Join(state, "runs", run, "leases.log"))
	for _, names := range requests {
		found := false
		for j := slices.Index(acquired, names[0]); j >= 0; j = nextIndex(acquired, names[0], j) {
			if j+len(names) <= len(acquired) && sameSet(acquired[j:j+len(names)], names) {
				found = true
				break
			}
		}
		assert.True(t, found, "the machines %q were not acquired in one step", names)
	}

	require.NoError(t, owner.Process.Kill())
	_ = owner.Wait()
	waitGone(t, tg, run, state)
}
