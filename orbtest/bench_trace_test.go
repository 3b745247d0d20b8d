package orbtest

// A driver wrapper for reading where a benchmark's time goes: with
// ORBTEST_BENCH_TRACE=1 the suite benchmark's child logs every backend call
// a pool makes, with its start (seconds since the process started) and its
// duration.

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

type traceDriver struct {
	backend.Driver
	logf func(format string, args ...any)
}

func (d *traceDriver) trace(op, name string, t0 time.Time, err error) {
	d.logf("[%7.3fs] trace %-8s %s %s err=%v", t0.Sub(benchStart).Seconds(), op, name, time.Since(t0).Round(time.Millisecond), err)
}

func (d *traceDriver) Create(ctx context.Context, name string, s backend.Spec) error {
	t0 := time.Now()
	err := d.Driver.Create(ctx, name, s)
	d.trace("create", name, t0, err)
	return err
}

func (d *traceDriver) Clone(ctx context.Context, src, dst string) error {
	t0 := time.Now()
	err := d.Driver.Clone(ctx, src, dst)
	d.trace("clone", dst, t0, err)
	return err
}

func (d *traceDriver) Start(ctx context.Context, name string) error {
	t0 := time.Now()
	err := d.Driver.Start(ctx, name)
	d.trace("start", name, t0, err)
	return err
}

func (d *traceDriver) Stop(ctx context.Context, name string) error {
	t0 := time.Now()
	err := d.Driver.Stop(ctx, name)
	d.trace("stop", name, t0, err)
	return err
}

func (d *traceDriver) Inspect(ctx context.Context, name string) (backend.Machine, error) {
	t0 := time.Now()
	m, err := d.Driver.Inspect(ctx, name)
	d.trace("inspect", name+" "+string(m.State)+" "+m.IP4, t0, err)
	return m, err
}

func (d *traceDriver) Exec(ctx context.Context, name string, req backend.ExecRequest) (int, error) {
	t0 := time.Now()
	code, err := d.Driver.Exec(ctx, name, req)
	d.trace("exec", name+" "+req.Argv[0], t0, err)
	return code, err
}

func (d *traceDriver) Snapshot(ctx context.Context, name, snap string) error {
	t0 := time.Now()
	err := d.Driver.Snapshot(ctx, name, snap)
	d.trace("snapshot", name, t0, err)
	return err
}

func (d *traceDriver) Restore(ctx context.Context, name, snap string) error {
	t0 := time.Now()
	err := d.Driver.Restore(ctx, name, snap)
	d.trace("restore", name, t0, err)
	return err
}

var traceOnce = sync.OnceValue(func() *traceDriver {
	d, err := selectDriver(context.Background(), envBackend())
	if err != nil {
		return nil
	}
	return &traceDriver{Driver: d, logf: func(format string, args ...any) { fmt.Printf(format+"\n", args...) }}
})

// benchTraceOption returns the option that makes NewVM use the tracing
// driver when ORBTEST_BENCH_TRACE=1, logging to standard output.
func benchTraceOption(t *testing.T) Option {
	if os.Getenv("ORBTEST_BENCH_TRACE") != "1" {
		return Options()
	}
	d := traceOnce()
	if d == nil {
		t.Skip("no backend")
	}
	return withDriver(d)
}
