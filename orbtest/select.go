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

// selectDriver returns the driver for choice, probing it once per process.
func selectDriver(ctx context.Context, choice string) (backend.Driver, error) {
	f, _ := probed.LoadOrStore(choice, sync.OnceValues(func() (backend.Driver, error) {
		return backends.Select(context.WithoutCancel(ctx), choice)
	}))
	return f.(func() (backend.Driver, error))()
}
