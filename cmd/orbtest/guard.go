package main

import (
	"context"
	"fmt"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
)

// guardDriver is the driver gc deletes through: it refuses to delete a
// machine that is not orbtest's, whoever asks, and reports each machine it
// did delete.
type guardDriver struct {
	backend.Driver
	deleted func(name string) // called after each successful delete; must be safe for concurrent use
}

func (g guardDriver) Delete(ctx context.Context, name string) error {
	if !naming.IsOrbtest(name) {
		return fmt.Errorf("refusing to delete %q: not an orbtest machine (no %q prefix): %w", name, naming.Prefix+"-", backend.ErrInvalid)
	}
	if err := g.Driver.Delete(ctx, name); err != nil {
		return err
	}
	if g.deleted != nil {
		g.deleted(name)
	}
	return nil
}
