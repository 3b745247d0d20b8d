// Package cmdrun runs one external command the way every orbtest backend
// does: exec.CommandContext with an interrupt on cancel and a WaitDelay,
// bounded capture of stdout and stderr, and a CommandError that keeps the
// command line, the exit code and a tail of stderr.
package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DefaultLimit bounds how much of stdout and of stderr is captured when
// Cmd.Limit is zero.
const DefaultLimit = 1 << 20

// WaitDelay is how long a canceled command has after its interrupt before
// it is killed and its pipes are closed.
const WaitDelay = 5 * time.Second

// Cmd is one command to run.
type Cmd struct {
	Args  []string // Args[0] is the program; never a shell string
	Env   []string // added to the current environment
	Dir   string
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the streams in full; what is
	// captured into Result is still bounded by Limit.
	Stdout, Stderr io.Writer
	Limit          int // bytes of each stream to keep; 0 means DefaultLimit
	// WaitDelay is how long a canceled command has after its interrupt
	// before it is killed and its pipes are closed; 0 means [WaitDelay].
	WaitDelay time.Duration
}

// Result is what a finished command produced.
type Result struct {
	Stdout, Stderr []byte // the last Limit bytes of each stream
	ExitCode       int
	Duration       time.Duration
}

// CommandError reports a command that could not start or exited non-zero.
type CommandError struct {
	Args     []string
	ExitCode int    // -1 when the command did not start or was killed
	Stderr   string // tail of standard error
	Err      error  // the underlying *exec.ExitError, start error or context error
}

// StderrTail is how many bytes of stderr a CommandError keeps.
const StderrTail = 2048

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "command %q", strings.Join(e.Args, " "))
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " exited %d", e.ExitCode)
	} else {
		fmt.Fprintf(&b, " failed: %v", e.Err)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, ": %s", s)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// Run runs c and waits for it. A non-zero exit yields both a Result and a
// *CommandError. When ctx ends first the command is interrupted, killed
// after WaitDelay, and the error wraps ctx.Err().
func Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return Result{ExitCode: -1}, errors.New("cmdrun: empty command")
	}
	limit := c.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = WaitDelay
	if c.WaitDelay > 0 {
		cmd.WaitDelay = c.WaitDelay
	}
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	stdout, stderr := &TailBuffer{Max: limit}, &TailBuffer{Max: limit}
	cmd.Stdout, cmd.Stderr = tee(stdout, c.Stdout), tee(stderr, c.Stderr)

	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return res, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return res, &CommandError{Args: c.Args, ExitCode: res.ExitCode, Stderr: tail(res.Stderr, StderrTail), Err: err}
}

func tee(buf *TailBuffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TailBuffer keeps the last Max bytes written to it. It is not safe for
// concurrent use.
type TailBuffer struct {
	buf bytes.Buffer
	Max int
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.Max {
		t.buf.Reset()
		t.buf.Write(p[len(p)-t.Max:])
		return n, nil
	}
	if over := t.buf.Len() + len(p) - t.Max; over > 0 {
		t.buf.Next(over)
	}
	t.buf.Write(p)
	return n, nil
}

// Bytes returns a copy of what the buffer keeps.
func (t *TailBuffer) Bytes() []byte { return bytes.Clone(t.buf.Bytes()) }

// String returns what the buffer keeps.
func (t *TailBuffer) String() string { return t.buf.String() }
