package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// rules is a Classifier for the tests: "gone" is not found, "slow" is
// transient with a note, anything else has no class.
func rules(exitCode int, stderr string) error {
	switch {
	case strings.Contains(stderr, "gone"):
		return backend.ErrNotFound
	case strings.Contains(stderr, "slow"):
		return fmt.Errorf("%w (try again later)", backend.ErrTransient)
	}
	return nil
}

func exited(code int, stderr string) *cmdrun.CommandError {
	return &cmdrun.CommandError{Args: []string{"tool", "start", "x"}, ExitCode: code, Stderr: stderr, Err: fmt.Errorf("exit status %d", code)}
}

func TestClass(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   error
	}{
		{"not a command error", errors.New("boom"), nil},
		{"stderr decides", exited(1, "Error: gone"), backend.ErrNotFound},
		{"stderr decides under a wrapper", fmt.Errorf("ctx: %w", exited(1, "Error: gone")), backend.ErrNotFound},
		{"no rule matches", exited(1, "Error: new"), nil},
		{"tool missing", &cmdrun.CommandError{ExitCode: -1, Err: &exec.Error{Name: "tool", Err: exec.ErrNotFound}}, backend.ErrUnavailable},
		{"path does not exist", &cmdrun.CommandError{ExitCode: -1, Err: &fs.PathError{Op: "fork/exec", Path: "/no/tool", Err: fs.ErrNotExist}}, backend.ErrUnavailable},
		{"not executable", &cmdrun.CommandError{ExitCode: -1, Err: &fs.PathError{Op: "fork/exec", Path: "/etc/passwd", Err: fs.ErrPermission}}, backend.ErrUnavailable},
		{"killed by a signal is not a class", &cmdrun.CommandError{ExitCode: -1, Stderr: "gone", Err: errors.New("signal: killed")}, nil},
		{"a deadline is never read from stderr", &cmdrun.CommandError{ExitCode: -1, Stderr: "Error: gone",
			Err: fmt.Errorf("%w (signal: interrupt)", context.DeadlineExceeded)}, nil},
		{"nor a cancel, even after an exit", &cmdrun.CommandError{ExitCode: 1, Stderr: "Error: gone",
			Err: fmt.Errorf("%w (exit status 1)", context.Canceled)}, nil},
	}
	for _, tt := range tests {
		if got := Class(tt.err, rules); !errors.Is(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("%s: Class = %v, want %v", tt.reason, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	gone := exited(1, "Error: gone")
	tests := []struct {
		reason string
		err    error
		want   string // the whole message
		class  error  // wrapped, when not nil
	}{
		{"class and command error", gone, `tool start "x": not found: command "tool start x" exited 1: Error: gone`, backend.ErrNotFound},
		{"a class's note follows it", exited(1, "slow"), `tool start "x": transient failure (try again later): command "tool start x" exited 1: slow`, backend.ErrTransient},
		{"no class", exited(2, "Error: new"), `tool start "x": command "tool start x" exited 2: Error: new`, nil},
		{"not a command error", errors.New("boom"), `tool start "x": boom`, nil},
		{"a class already wrapped is not repeated", fmt.Errorf("%w: %w", backend.ErrNotFound, gone),
			`tool start "x": not found: command "tool start x" exited 1: Error: gone`, backend.ErrNotFound},
		{"a timed-out call keeps its deadline and gets no class", &cmdrun.CommandError{Args: []string{"tool"}, ExitCode: -1, Stderr: "gone",
			Err: fmt.Errorf("%w (signal: interrupt)", context.DeadlineExceeded)}, `tool start "x": command "tool" failed: context deadline exceeded (signal: interrupt): gone`, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		err := Wrap(`tool start "x"`, tt.err, rules)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: Wrap = %v\nwant %s", tt.reason, err, tt.want)
			continue
		}
		if tt.class != nil && !errors.Is(err, tt.class) {
			t.Errorf("%s: %v does not wrap %v", tt.reason, err, tt.class)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: %v does not wrap the call's error", tt.reason, err)
		}
		var ce *cmdrun.CommandError
		if errors.As(tt.err, &ce) {
			var got *cmdrun.CommandError
			if !errors.As(err, &got) || got != ce {
				t.Errorf("%s: errors.As does not reach the *cmdrun.CommandError", tt.reason)
			}
		}
	}
	if err := Wrap("tool list", nil, rules); err != nil {
		t.Errorf("Wrap of nil = %v, want nil", err)
	}
	if backend.Retryable(Wrap("tool list", gone, rules)) {
		t.Error("a not-found call is not retryable")
	}
}
