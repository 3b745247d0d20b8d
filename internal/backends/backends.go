// Package backends chooses and probes the backend a run uses, for the
// library, its reaper and the orbtest command alike.
package backends

import (
	"github.com/orbtest/go-orbtest/internal/env"

	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/orbctl"
)

// Choice returns the backend ORBTEST_BACKEND names: orbstack, incus or
// auto (the default).
func Choice() string { return env.Choice() }

// Select returns a probed driver for choice ("orbstack", "incus" or
// "auto": the first of the two that is installed and running). When none
// is, the error wraps backend.ErrUnavailable and says what to do.
func Select(ctx context.Context, choice string) (backend.Driver, error) {
	d, _, err := SelectProbed(ctx, choice)
	return d, err
}

// SelectProbed is Select, and also returns what the driver's probe
// reported, so that its caller need not probe again.
func SelectProbed(ctx context.Context, choice string) (backend.Driver, backend.Info, error) {
	switch choice {
	case "orbstack":
		return orbStack(ctx)
	case "incus":
		return incusProbed(ctx)
	case "auto":
		d, info, oerr := orbStack(ctx)
		if oerr == nil {
			return d, info, nil
		}
		d, info, ierr := incusProbed(ctx)
		if ierr == nil {
			return d, info, nil
		}
		return nil, backend.Info{}, fmt.Errorf("%w: no backend found (ORBTEST_BACKEND=auto): orbstack: %s; incus: %s",
			backend.ErrUnavailable, stripClass(oerr), stripClass(ierr))
	}
	return nil, backend.Info{}, fmt.Errorf("bad backend %q: use orbstack, incus or auto", choice)
}

// OrbStack returns the OrbStack driver if orbctl is installed and OrbStack
// is running.
func OrbStack(ctx context.Context) (backend.Driver, error) {
	d, _, err := orbStack(ctx)
	return d, err
}

// orbStack is OrbStack, and what the driver's probe reported.
func orbStack(ctx context.Context) (backend.Driver, backend.Info, error) {
	path, err := orbctl.Find()
	if err != nil {
		return nil, backend.Info{}, unavailable("orbstack", err, "install OrbStack (macOS), or set ORBTEST_ORBCTL")
	}
	d, info, err := orbctl.OpenProbed(ctx, path)
	if err != nil {
		return nil, backend.Info{}, unavailable("orbstack", err, "start it with: orbctl start")
	}
	return d, info, nil
}

// Incus returns the Incus driver, aimed at ORBTEST_INCUS_REMOTE when set,
// if incus is installed and its daemon answers.
func Incus(ctx context.Context) (backend.Driver, error) {
	d, _, err := incusProbed(ctx)
	return d, err
}

// incusProbed is Incus, and what the driver's probe reported.
func incusProbed(ctx context.Context) (backend.Driver, backend.Info, error) {
	path, err := incus.Find()
	if err != nil {
		return nil, backend.Info{}, unavailable("incus", err, "run scripts/setup-incus.sh")
	}
	d := incus.New(path, incus.WithRemote(env.Get(env.IncusRemote)))
	info, err := d.Probe(ctx)
	if err != nil {
		return nil, backend.Info{}, unavailable("incus", err, "start incusd, or run scripts/setup-incus.sh")
	}
	return d, info, nil
}

func unavailable(name string, err error, hint string) error {
	if errors.Is(err, backend.ErrUnavailable) {
		return fmt.Errorf("%s: %w; %s", name, err, hint)
	}
	return fmt.Errorf("%w: %s: %v; %s", backend.ErrUnavailable, name, err, hint)
}

// stripClass drops the leading class from a nested unavailable error, so
// the combined message says it once.
func stripClass(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, backend.ErrUnavailable.Error()+": ")
}
