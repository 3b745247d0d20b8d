package orbtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// NewVM returns a ready machine for the test, described by opts (a [Spec]
// and any other [Option]). It fails the test when the machine cannot be
// made ready, and skips it when no backend is available (fails it instead
// when ORBTEST_REQUIRE=1).
//
// NewVM leases the machine from the run's pool: a machine of the same
// spec that an earlier test used and that was reset since, or a new one
// cloned from the spec's template, whose setup steps ran once for the
// whole run. [Fresh] and [Shared] change how the machine is shared. The
// test and its subtests hold the lease; when they complete the machine is
// reset and handed to the next test, or deleted, or kept according to
// [WithKeep]. A machine that fails to become ready, or a test that fails
// or panics, leaves nothing behind; the run's reaper deletes what is left
// when the run ends, however it ends. Lifecycle lines go to the test's log
// through t.Output(), without a location inside orbtest.
//
// The wait for readiness is bounded by [WithReadyTimeout] and by the test's
// deadline, less time kept back for teardown: a go test -timeout panic
// skips every Cleanup.
func NewVM(t testing.TB, opts ...Option) *VM {
	t.Helper()
	return newVMs(t, 1, opts)[0]
}

// NewVMs returns n distinct, ready machines of one spec for the test,
// leased together: all n or none, so that tests that need several machines
// never hold some while they wait for the rest (and never wait for each
// other). Waiting is first come, first served, as for [NewVM], and
// otherwise NewVMs is n NewVMs: the machines are made ready side by side,
// their [VM.Hostname]s resolve from each other, and they are reset or
// deleted when the test ends. n above ORBTEST_MAX_VMS fails the test at
// once, naming the cap; n below 1 and [Shared] (one machine for all) are
// errors.
//
// A test that holds pool or Fresh machines and asks for more (a second
// NewVM, say, for a machine of another spec) gets them when the run has
// them free or room to create them; when it would have to wait, it fails
// at once with advice instead, since tests waiting while holding machines
// can wait for each other forever. Lease a test's machines of one spec
// together with NewVMs. A [Shared] machine, which keeps no test from
// using it, does not count.
func NewVMs(t testing.TB, n int, opts ...Option) []*VM {
	t.Helper()
	return newVMs(t, n, opts)
}

// newVMs is NewVM and NewVMs: n machines for t, released when t ends.
func newVMs(t testing.TB, n int, opts []Option) []*VM {
	t.Helper()
	c, err := newConfig(append([]Option{WithLogf(outputLogf(t))}, opts...))
	if err == nil && n < 1 {
		err = fmt.Errorf("NewVMs(t, %d): n must be at least 1", n)
	}
	if err == nil && n > 1 && c.mode == modeShared {
		err = fmt.Errorf("NewVMs(t, %d, Shared()): a Shared machine is one machine for every test; lease several from the pool or Fresh", n)
	}
	if err != nil {
		t.Fatalf("orbtest: %v", err)
	}
	d, err := driverFor(t.Context(), c)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			skipUnavailable(t, err)
		}
		t.Fatal(err)
	}
	p, err := poolFor(t.Context(), d, c)
	if err != nil {
		t.Fatal(err)
	}
	held := holdings(t)
	c.holding = int(held.Load())
	exclusive := int64(n) // a Shared lease keeps no one else from the machine
	if c.mode == modeShared {
		exclusive = 0
	}
	var ls []*lease
	t.Cleanup(func() {
		t.Helper()
		for _, l := range ls {
			if c.artifacts && t.Failed() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), teardownTimeout)
				l.vm.saveArtifacts(t, ctx)
				cancel()
			}
			l.vm.teardown(t, c.keep, l)
		}
		if ls != nil && held.Add(-exclusive) == 0 {
			holders.CompareAndDelete(t, held)
		}
	})
	ctx, cancel := budget(t)
	defer cancel()
	if ls, err = p.acquire(ctx, c, n); err != nil {
		ls = nil
		t.Fatal(err)
	}
	held.Add(exclusive)
	vms := make([]*VM, len(ls))
	for i, l := range ls {
		vms[i] = l.vm
	}
	return vms
}

// holders counts, per test, the machines it holds.
var holders sync.Map // testing.TB -> *atomic.Int64

func holdings(t testing.TB) *atomic.Int64 {
	v, _ := holders.LoadOrStore(t, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// teardown hands the machine back when its test ends: deleted, reset for
// the next test, or kept (see [WithKeep]).
func (vm *VM) teardown(t testing.TB, keep Keep, l *lease) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), teardownTimeout)
	defer cancel()
	if err := l.release(ctx, keep, t.Failed()); err != nil {
		t.Error(err)
		return
	}
	if vm.kept {
		vm.logf("orbtest: keeping machine %s (ORBTEST_KEEP=%s); shell: %s; delete with: %s",
			vm.name, keep, vm.AttachCommand(), vm.driver.DeleteCommand(vm.name))
	}
}

// outputLogf returns a logf that writes each line to t.Output(): the test's
// log, as t.Log writes it, but without the location of the call, which
// would be inside orbtest.
func outputLogf(t testing.TB) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(t.Output(), format+"\n", args...)
	}
}

// budget derives the context NewVM waits with from the test's deadline:
// it ends 2*grace before the deadline, grace being a twentieth of the time
// left, at least teardownFloor but at most a quarter of the time left, so
// teardown still runs before go test's -timeout panics.
func budget(t testing.TB) (context.Context, context.CancelFunc) {
	ctx := t.Context()
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return context.WithCancel(ctx)
	}
	deadline, ok := dt.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(deadline)
	grace := min(max(teardownFloor, left/20), left/4)
	ctx = context.WithValue(ctx, budgetKey{}, deadline)
	return context.WithDeadline(ctx, deadline.Add(-2*grace))
}

const teardownFloor = 5 * time.Second

// skipUnavailable skips t because no backend is available, or fails it
// when ORBTEST_REQUIRE=1.
func skipUnavailable(t testing.TB, err error) {
	t.Helper()
	if envRequire() {
		t.Fatalf("%v (ORBTEST_REQUIRE=1 forbids skipping)", err)
	}
	t.Skipf("skipping test: %v", err)
}

// SkipIfUnavailable skips t unless a backend is installed and running;
// under ORBTEST_REQUIRE=1 it fails t instead. [NewVM] does this by itself;
// call it first in tests that do other expensive work before NewVM.
func SkipIfUnavailable(t testing.TB) {
	t.Helper()
	if err := Available(t.Context()); err != nil {
		skipUnavailable(t, err)
	}
}

// Available returns nil when the backend chosen by ORBTEST_BACKEND is
// installed and running, and otherwise an error wrapping [ErrUnavailable]
// that says why.
func Available(ctx context.Context) error {
	_, err := selectDriver(ctx, envBackend())
	return err
}
