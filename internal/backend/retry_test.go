package backend

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   bool
	}{
		{"nil", nil, false},
		{"transient", fmt.Errorf("create: %w: x", ErrTransient), true},
		{"a per-call timeout", fmt.Errorf("start: %w (signal: interrupt)", context.DeadlineExceeded), true},
		{"canceled by the caller", context.Canceled, false},
		{"not found", ErrNotFound, false},
		{"exists", ErrExists, false},
		{"invalid", ErrInvalid, false},
		{"unavailable", ErrUnavailable, false},
		{"unsupported", ErrUnsupported, false},
		{"unclassified", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.reason, tt.err, got, tt.want)
		}
	}
}

// These cases wait out Retry's real backoff: 250ms growing to 5s with
// jitter, a few seconds in all for the longest.
func TestRetry(t *testing.T) {
	transient := fmt.Errorf("create: %w", ErrTransient)
	tests := []struct {
		reason    string
		errs      []error // what each call returns; past the end, the last one
		wantCalls int
		want      error // a class the error must wrap, if any
	}{
		{"success at once", []error{nil}, 1, nil},
		{"success after transient failures", []error{transient, transient, nil}, 3, nil},
		{"a deadline is retried too", []error{context.DeadlineExceeded, nil}, 2, nil},
		{"a permanent failure is not retried", []error{ErrNotFound}, 1, ErrNotFound},
		{"a permanent failure after a transient one stops", []error{transient, ErrInvalid}, 2, ErrInvalid},
		{"an unclassified failure is not retried", []error{errors.New("boom")}, 1, nil},
		{"at most LifecycleRetries retries", []error{transient}, LifecycleRetries + 1, ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := Retry(context.Background(), func(context.Context) error {
				calls++
				return tt.errs[min(calls, len(tt.errs))-1]
			})
			if calls != tt.wantCalls {
				t.Errorf("fn called %d times, want %d", calls, tt.wantCalls)
			}
			last := tt.errs[min(calls, len(tt.errs))-1]
			switch {
			case last == nil && err != nil:
				t.Errorf("Retry = %v, want nil", err)
			case last != nil && !errors.Is(err, last):
				t.Errorf("Retry = %v, want the last call's error %v", err, last)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("Retry = %v, want one wrapping %v", err, tt.want)
			}
		})
	}
}

func TestRetryStopsWhenCtxEnds(t *testing.T) {
	transient := fmt.Errorf("start: %w", ErrTransient)

	// The call itself ends ctx: its error comes back, with no retry.
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Retry(ctx, func(context.Context) error {
		calls++
		cancel()
		return transient
	})
	if calls != 1 || !errors.Is(err, ErrTransient) {
		t.Errorf("canceled in the call: %d calls, err %v; want 1 call and its error", calls, err)
	}

	// ctx ends while Retry waits to try again.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls = 0
	start := time.Now()
	err = Retry(ctx, func(context.Context) error {
		calls++
		return transient
	})
	if calls != 1 || err == nil {
		t.Errorf("deadline in the backoff: %d calls, err %v; want 1 call and an error", calls, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Retry took %v after its ctx ended", d)
	}

	// fn gets Retry's ctx.
	type key struct{}
	ctx = context.WithValue(context.Background(), key{}, "v")
	_ = Retry(ctx, func(got context.Context) error {
		if got.Value(key{}) != "v" {
			t.Error("fn does not get Retry's ctx")
		}
		return nil
	})
}

func TestTimeout(t *testing.T) {
	tests := []struct {
		op   Op
		name string
		want time.Duration
	}{
		{OpQuery, "query", 30 * time.Second},
		{OpCreate, "create", 5 * time.Minute},
		{OpClone, "clone", 2 * time.Minute},
		{OpCopy, "copy", 2 * time.Minute},
		{OpStart, "start", time.Minute},
		{OpStop, "stop", time.Minute},
		{OpDelete, "delete", time.Minute},
		{OpSnapshot, "snapshot", time.Minute},
		{Op(99), "query", 30 * time.Second},
	}
	for _, tt := range tests {
		if got := Timeout(tt.op); got != tt.want {
			t.Errorf("Timeout(%s) = %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.op.String(); got != tt.name {
			t.Errorf("Op(%d).String() = %q, want %q", int(tt.op), got, tt.name)
		}
	}
}
