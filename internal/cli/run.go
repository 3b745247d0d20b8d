package cli

import (
	"context"
	"errors"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// Run runs c under the timeout of op ([backend.Timeout]) within ctx: one
// backend call. A user's command, which only its caller's ctx bounds, runs
// with [cmdrun.Run] instead.
func Run(ctx context.Context, op backend.Op, c cmdrun.Cmd) (cmdrun.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, backend.Timeout(op))
	defer cancel()
	return cmdrun.Run(ctx, c)
}

// Interrupted reports whether err is from a call that its context ended
// (canceled, or past its deadline): [cmdrun.Run] wraps ctx.Err() then. What
// such a call printed says nothing about why it stopped.
func Interrupted(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
