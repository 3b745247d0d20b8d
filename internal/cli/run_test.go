package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

func TestRun(t *testing.T) {
	res, err := Run(context.Background(), backend.OpQuery, cmdrun.Cmd{Args: []string{"sh", "-c", "echo ok"}})
	if err != nil || string(res.Stdout) != "ok\n" || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; want ok", res, err)
	}

	// The caller's ctx still bounds the call when it ends before op's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Run(ctx, backend.OpCreate, cmdrun.Cmd{Args: []string{"sleep", "30"}})
	if !Interrupted(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run past the caller's deadline: err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after the caller's deadline", d)
	}
}

func TestInterrupted(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   bool
	}{
		{"nil", nil, false},
		{"deadline", fmt.Errorf("%w (signal: interrupt)", context.DeadlineExceeded), true},
		{"canceled", &cmdrun.CommandError{ExitCode: -1, Err: context.Canceled}, true},
		{"an exit", &cmdrun.CommandError{ExitCode: 1, Err: errors.New("exit status 1")}, false},
		{"a timeout the tool printed is not the context's", errors.New("context deadline exceeded"), false},
	}
	for _, tt := range tests {
		if got := Interrupted(tt.err); got != tt.want {
			t.Errorf("%s: Interrupted(%v) = %v, want %v", tt.reason, tt.err, got, tt.want)
		}
	}
}
