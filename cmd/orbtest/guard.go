package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// namePrefix starts the name of every machine orbtest creates; gc never
// deletes a machine whose name does not start with it.
const namePrefix = "orbtest-"

func isOrbtest(name string) bool { return strings.HasPrefix(name, namePrefix) }

// guardDriver is the driver gc deletes through: it refuses to delete a
// machine that is not orbtest's, whoever asks, and reports each machine it
// did delete.
type guardDriver struct {
	backend.Driver
	deleted func(name string) // called after each successful delete; must be safe for concurrent use
}

func (g guardDriver) Delete(ctx context.Context, name string) error {
	if !isOrbtest(name) {
		return fmt.Errorf("refusing to delete %q: not an orbtest machine (no %q prefix): %w", name, namePrefix, backend.ErrInvalid)
	}
	if err := g.Driver.Delete(ctx, name); err != nil {
		return err
	}
	if g.deleted != nil {
		g.deleted(name)
	}
	return nil
}
