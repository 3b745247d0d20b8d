package orbtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// fakeTB is a testing.TB whose failures are recorded instead of reported,
// so tests can check what NewVM does when a test fails, skips or panics.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	logs       []string
	failed     bool
	skipped    bool
	cleanups   []func()
	ctx        context.Context
	cancel     context.CancelFunc
	deadline   time.Time
}

func newFakeTB() *fakeTB {
	ctx, cancel := context.WithCancel(context.Background())
	return &fakeTB{ctx: ctx, cancel: cancel}
}

func (f *fakeTB) Helper()                  {}
func (f *fakeTB) Name() string             { return "TestFake" }
func (f *fakeTB) Context() context.Context { return f.ctx }
func (f *fakeTB) Cleanup(fn func())        { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }
func (f *fakeTB) Failed() bool             { f.mu.Lock(); defer f.mu.Unlock(); return f.failed }
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Log(args ...any)                   { f.Logf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Output() io.Writer                 { return fakeOutput{f} }
func (f *fakeTB) Error(args ...any)                 { f.Log(args...); f.fail() }
func (f *fakeTB) Errorf(format string, args ...any) { f.Logf(format, args...); f.fail() }
func (f *fakeTB) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.Logf(format, args...)
	f.mu.Lock()
	f.skipped = true
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) TempDir() string {
	dir, err := os.MkdirTemp("", "faketb")
	if err != nil {
		panic(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
func (f *fakeTB) fail() { f.mu.Lock(); f.failed = true; f.mu.Unlock() }

// fakeOutput is fakeTB's t.Output(): each line written is a log line.
type fakeOutput struct{ f *fakeTB }

func (o fakeOutput) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		o.f.Logf("%s", strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}

// Deadline is there only when the test set one, as on *testing.T.
type fakeTBWithDeadline struct{ *fakeTB }

func (f fakeTBWithDeadline) Deadline() (time.Time, bool) { return f.deadline, true }

// run runs body as a test would (with a Deadline method when f.deadline is
// set, as go test -timeout gives one): on its own goroutine, then the cleanups
// in reverse order after the context is canceled. A panic in body is
// recovered and reported as a failure, as the testing package's runner
// does before it runs the cleanups.
func (f *fakeTB) run(body func(t testing.TB)) {
	var t testing.TB = f
	if !f.deadline.IsZero() {
		t = fakeTBWithDeadline{f}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				f.Errorf("panic: %v", r)
			}
		}()
		body(t)
	}()
	<-done
	f.cancel()
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func (f *fakeTB) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}

func TestNewVMDeletesWhenTheTestEnds(t *testing.T) {
	for _, tt := range []struct {
		reason string
		body   func(t testing.TB, vm *VM)
		failed bool
	}{
		{"test passes", func(t testing.TB, vm *VM) {}, false},
		{"test fails with Fatal", func(t testing.TB, vm *VM) { t.Fatal("boom") }, true},
		{"test panics", func(t testing.TB, vm *VM) { panic("boom") }, true},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			d := newMemDriver()
			ft := newFakeTB()
			var name string
			ft.run(func(tb testing.TB) {
				vm := NewVM(tb, Debian("bookworm"), testRun(t, d), WithKeep(KeepNever))
				name = vm.Name()
				tt.body(tb, vm)
			})
			assert.Equal(t, tt.failed, ft.Failed())
			assert.NotEmpty(t, name)
			assert.Empty(t, d.Names(), "machine left behind")
			assert.Contains(t, ft.log(), "orbtest: deleted machine "+name)
		})
	}
}

func TestNewVMReadinessFailureLeavesNothing(t *testing.T) {
	d := newMemDriver()
	d.exec = func(*memMachine, []string) (int, string, string) { return 1, "", "no" }
	ft := newFakeTB()
	returned := false
	ft.run(func(tb testing.TB) {
		NewVM(tb, Debian("bookworm"), testRun(t, d), WithCreateTimeout(200*time.Millisecond), WithKeep(KeepNever))
		returned = true
	})
	assert.False(t, returned, "NewVM must stop the test when the machine is not ready")
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), "not ready")
	assert.Empty(t, d.Names())
	assert.Equal(t, 1, d.Calls("create"))
}

func TestNewVMKeepPolicies(t *testing.T) {
	for _, tt := range []struct {
		keep     Keep
		fail     bool
		wantKept bool
	}{
		{KeepNever, true, false},
		{KeepFailed, false, false},
		{KeepFailed, true, true},
		{KeepAlways, false, true},
	} {
		t.Run(fmt.Sprintf("%s/failed=%v", tt.keep, tt.fail), func(t *testing.T) {
			d := newMemDriver()
			ft := newFakeTB()
			var name string
			ft.run(func(tb testing.TB) {
				vm := NewVM(tb, Debian("bookworm"), testRun(t, d), WithKeep(tt.keep))
				name = vm.Name()
				if tt.fail {
					tb.Errorf("the test failed")
				}
			})
			if tt.wantKept {
				assert.Equal(t, []string{name}, d.Names())
				assert.Contains(t, ft.log(), "keeping machine "+name)
				assert.Contains(t, ft.log(), "delete with: mem delete "+name)
				assert.Contains(t, ft.log(), "shell: mem shell "+name)
			} else {
				assert.Empty(t, d.Names())
			}
		})
	}
}

func TestNewVMTeardownFailureFailsTheTest(t *testing.T) {
	d := newMemDriver()
	ft := newFakeTB()
	ft.run(func(tb testing.TB) {
		NewVM(tb, Debian("bookworm"), testRun(t, d), WithKeep(KeepNever))
		d.deleteErrs = []error{fmt.Errorf("disk full: %w", backend.ErrInvalid)}
	})
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), "orbtest: delete machine")
}

func TestNewVMBadOptionsFailBeforeAnythingRuns(t *testing.T) {
	d := newMemDriver()
	ft := newFakeTB()
	ft.run(func(tb testing.TB) { NewVM(tb, Distro("plan9", "4"), testRun(t, d)) })
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), `unknown distro "plan9"`)
	assert.Empty(t, d.calls)
}

func TestNewVMSkipsOrFailsWithoutBackend(t *testing.T) {
	t.Setenv("ORBTEST_BACKEND", "incus")
	t.Setenv("ORBTEST_INCUS", "/nonexistent/incus")
	t.Setenv("PATH", t.TempDir())
	probed.Delete("incus")
	defer probed.Delete("incus")

	t.Setenv("ORBTEST_REQUIRE", "")
	ft := newFakeTB()
	ft.run(func(tb testing.TB) { NewVM(tb, Debian("bookworm")) })
	assert.True(t, ft.skipped)
	assert.False(t, ft.Failed())
	assert.Contains(t, ft.log(), "skipping test: orbtest: ")
	assert.Contains(t, ft.log(), "incus")

	t.Setenv("ORBTEST_REQUIRE", "1")
	ft = newFakeTB()
	ft.run(func(tb testing.TB) { NewVM(tb, Debian("bookworm")) })
	assert.False(t, ft.skipped)
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), "ORBTEST_REQUIRE=1")
}

func TestNewVMKeepsTimeForTeardownBeforeTheTestDeadline(t *testing.T) {
	d := newMemDriver()
	d.exec = func(*memMachine, []string) (int, string, string) { return 1, "", "booting" }
	ft := newFakeTB()
	ft.deadline = time.Now().Add(2 * time.Second) // grace: a quarter of that
	start := time.Now()
	ft.run(func(tb testing.TB) {
		NewVM(tb, Debian("bookworm"), testRun(t, d), WithReadyTimeout(time.Hour), WithCreateTimeout(time.Hour))
	})
	waited := time.Since(start)
	assert.Less(t, waited, 1500*time.Millisecond, "the wait must end 2*grace before the deadline")
	assert.Greater(t, waited, 500*time.Millisecond)
	assert.Contains(t, ft.log(), "leave time for teardown")
	assert.Empty(t, d.Names())
}
