package orbtest

import (
	"context"
	"sync"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
)

// probed caches, per backend choice, the driver selected for this process:
// a backend is probed once, however many machines a run makes.
var probed sync.Map // string -> func() (backend.Driver, error)

// probeInfo holds what the probe that selected each driver reported.
var probeInfo sync.Map // backend.Driver -> backend.Info

// selectDriver returns the driver for choice, probing it once per process.
func selectDriver(ctx context.Context, choice string) (backend.Driver, error) {
	f, _ := probed.LoadOrStore(choice, sync.OnceValues(func() (backend.Driver, error) {
		d, info, err := backends.SelectProbed(context.WithoutCancel(ctx), choice)
		if err == nil {
			probeInfo.Store(d, info)
		}
		return d, err
	}))
	return f.(func() (backend.Driver, error))()
}

// driverInfo returns what d's probe reports: the one that selected it,
// or, for a driver selectDriver did not select, a probe now.
func driverInfo(ctx context.Context, d backend.Driver) (backend.Info, error) {
	if info, ok := probeInfo.Load(d); ok {
		return info.(backend.Info), nil
	}
	return d.Probe(ctx)
}
