package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// leaseTB is the benchmark as the testing.TB that NewVM gets, but for the
// cleanups NewVM registers (its release: the machine's reset), which run
// when release is called, so that a lease can end inside the benchmark
// loop. Everything else is the benchmark's own. The lifecycle lines NewVM
// logs are kept, and shown only with a failure.
type leaseTB struct {
	*testing.B
	mu       sync.Mutex
	cleanups []func()
	logs     []string
}

func (t *leaseTB) Cleanup(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, fn)
}

func (t *leaseTB) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
}

func (t *leaseTB) Log(args ...any) { t.Logf("%s", fmt.Sprint(args...)) }

// Output keeps what NewVM writes to the test's log, a line at a time.
func (t *leaseTB) Output() io.Writer { return leaseOutput{t} }

type leaseOutput struct{ t *leaseTB }

func (o leaseOutput) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		o.t.Logf("%s", strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}

func (t *leaseTB) Error(args ...any) { t.B.Helper(); t.B.Error(fmt.Sprint(args...) + t.logText()) }
func (t *leaseTB) Errorf(format string, args ...any) {
	t.B.Helper()
	t.B.Error(fmt.Sprintf(format, args...) + t.logText())
}
func (t *leaseTB) Fatal(args ...any) { t.B.Helper(); t.B.Fatal(fmt.Sprint(args...) + t.logText()) }
func (t *leaseTB) Fatalf(format string, args ...any) {
	t.B.Helper()
	t.B.Fatal(fmt.Sprintf(format, args...) + t.logText())
}

func (t *leaseTB) logText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.logs) == 0 {
		return ""
	}
	return "\nlog of the lease:\n" + strings.Join(t.logs, "\n")
}

// release runs the cleanups registered so far, last first, once.
func (t *leaseTB) release() {
	t.mu.Lock()
	fns := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// benchLease leases a machine of spec with NewVM and returns it, how long
// NewVM took, and release, which ends the lease (resetting the machine)
// and returns how long that took. A lease that is not released, because
// the benchmark failed, ends with the benchmark.
func benchLease(b *testing.B, spec orbtest.Spec) (vm *orbtest.VM, took time.Duration, release func() time.Duration) {
	b.Helper()
	t := &leaseTB{B: b}
	b.Cleanup(t.release)
	t0 := time.Now()
	vm = orbtest.NewVM(t, spec)
	took = time.Since(t0)
	release = func() time.Duration {
		t0 := time.Now()
		t.release()
		d := time.Since(t0)
		if b.Failed() {
			b.FailNow()
		}
		return d
	}
	return vm, took, release
}

// drainRun deletes the machines of this process's run that its pools
// recorded (idle machines and templates), and their records: what the
// reaper would do at exit, done now so that no idle machine outlives the
// benchmark that made it.
func drainRun(b *testing.B, e *benchEnv) {
	b.Helper()
	run := runState(orbtest.RunID())
	recs, err := run.Records()
	if err != nil {
		b.Error(err)
		return
	}
	ctx := context.Background()
	for _, r := range recs {
		if err := backend.Retry(ctx, func(ctx context.Context) error { return e.d.Delete(ctx, r.Name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
			b.Errorf("delete %s: %v", r.Name, err)
			continue
		}
		_ = run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(r.Name) })
	}
}
