package backend

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// LifecycleRetries is how many times Retry retries a lifecycle call after a
// transient failure.
const LifecycleRetries = 3

// LifecycleBackoff is the backoff between attempts of a lifecycle call:
// 250ms growing to 5s, at most LifecycleRetries retries, within ctx.
func LifecycleBackoff(ctx context.Context) backoff.BackOff {
	return backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(250*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(0),
	), LifecycleRetries), ctx)
}

// Retry calls fn until it succeeds, fails with an error that is not
// Retryable, or has been retried LifecycleRetries times. It is for
// lifecycle calls (create, start, stop, delete, snapshot), never for a
// user's command.
func Retry(ctx context.Context, fn func(context.Context) error) error {
	return backoff.Retry(func() error {
		err := fn(ctx)
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return backoff.Permanent(err)
		}
		return err
	}, LifecycleBackoff(ctx))
}
