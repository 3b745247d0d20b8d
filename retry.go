package orbtest

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/orbtest/orbtest/internal/backend"
)

// lifecycleRetries is how many times a lifecycle call (create, start,
// delete) is retried after a transient failure. User commands are never
// retried.
const lifecycleRetries = 3

func lifecycleBackoff(ctx context.Context) backoff.BackOff {
	return backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(250*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(0),
	), lifecycleRetries), ctx)
}

// retry calls fn until it succeeds, fails with an error that is not
// transient, or has been retried lifecycleRetries times.
func retry(ctx context.Context, fn func(context.Context) error) error {
	return backoff.Retry(func() error {
		err := fn(ctx)
		if err == nil || !backend.Retryable(err) || ctx.Err() != nil {
			return backoff.Permanent(err)
		}
		return err
	}, lifecycleBackoff(ctx))
}
