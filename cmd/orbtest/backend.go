package main

import (
	"context"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
)

// selectDriver returns the probed driver of the backend ORBTEST_BACKEND
// chooses, as the library would pick it.
func selectDriver(ctx context.Context) (backend.Driver, error) {
	return backends.Select(ctx, backends.Choice())
}
