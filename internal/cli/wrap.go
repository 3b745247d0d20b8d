package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// Classifier is a driver's rule table: the error class (one of backend's
// Err* values) of a call to its tool that exited with exitCode after
// printing stderr (its tail), or nil when no rule matches. A class may
// carry a note for the reader, as fmt.Errorf("%w (note)", class).
type Classifier func(exitCode int, stderr string) error

// Class returns the error class of err, a failed call from [cmdrun.Run]:
//
//   - nil when err is not a *cmdrun.CommandError;
//   - nil when the call's context ended ([Interrupted]): err already wraps
//     context.DeadlineExceeded or context.Canceled, and what the tool
//     printed before it was stopped is not why it stopped;
//   - [backend.ErrUnavailable] when the tool could not be started (it is
//     missing, or not an executable file);
//   - nil when the tool did not exit (a signal killed it);
//   - otherwise what classify makes of its exit code and stderr.
func Class(err error, classify Classifier) error {
	var ce *cmdrun.CommandError
	if !errors.As(err, &ce) || Interrupted(err) {
		return nil
	}
	if ce.ExitCode < 0 {
		if errors.Is(ce.Err, exec.ErrNotFound) || errors.Is(ce.Err, fs.ErrNotExist) || errors.Is(ce.Err, fs.ErrPermission) {
			return backend.ErrUnavailable
		}
		return nil
	}
	return classify(ce.ExitCode, ce.Stderr)
}

// Wrap returns the error of a failed call: what (the tool, the operation
// and its subject, such as `incus start "x"`), the call's [Class] and err:
//
//	incus start "x": not found: command "incus start x" exited 1: Error: ...
//
// Both the class and err (with the *cmdrun.CommandError in it) stay
// reachable with errors.Is and errors.As. Without a class, or when err
// already wraps it, the message is "WHAT: ERR". Wrap(what, nil, ...) is nil.
func Wrap(what string, err error, classify Classifier) error {
	if err == nil {
		return nil
	}
	class := Class(err, classify)
	if class == nil || errors.Is(err, sentinel(class)) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, class, err)
}

// sentinel is the class under the notes a Classifier wrapped around it.
func sentinel(class error) error {
	for u := errors.Unwrap(class); u != nil; u = errors.Unwrap(class) {
		class = u
	}
	return class
}
