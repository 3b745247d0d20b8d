package orbtest

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
)

// Cmd is a command to run in a machine: a program and its arguments (never
// a shell string), plus the user, working directory, environment and
// standard input to run it with, and where its output goes as it comes.
// Build one with [Command] or [ShellCommand]; Cmd values are immutable, so
// a base command can be shared.
type Cmd struct {
	argv           []string
	user           string
	dir            string
	env            []string
	stdin          io.Reader
	stdout, stderr io.Writer
	log            testing.TB
}

// Command returns a Cmd that runs the program name with args, without a
// shell: each argument reaches the program as it is.
func Command(name string, args ...string) Cmd {
	return Cmd{argv: append([]string{name}, args...)}
}

// ShellCommand returns a Cmd that runs script through sh -c, for pipes,
// redirections and other shell syntax.
func ShellCommand(script string) Cmd { return Command("sh", "-c", script) }

// AsUser returns a copy of c that runs as user. The default is the
// machine's default user (see [Spec.WithUser]).
func (c Cmd) AsUser(user string) Cmd { c.user = user; return c }

// InDir returns a copy of c that runs in the absolute directory dir. The
// default is the user's home directory.
func (c Cmd) InDir(dir string) Cmd { c.dir = dir; return c }

// WithEnv returns a copy of c with KEY=VALUE pairs added to its
// environment.
func (c Cmd) WithEnv(pairs ...string) Cmd {
	c.env = append(append([]string(nil), c.env...), pairs...)
	return c
}

// WithStdin returns a copy of c that reads its standard input from r. The
// default is no input. A reader can be consumed once: share a Cmd with
// stdin between runs only if r can be read again.
func (c Cmd) WithStdin(r io.Reader) Cmd { c.stdin = r; return c }

// WithStdout returns a copy of c whose standard output is also written to
// w as it arrives, byte for byte, while the command runs; the [Result]
// keeps its copy. The default is none. Exec writes to w from one
// goroutine at a time, also when w is given to WithStderr too, and not
// after it returns.
func (c Cmd) WithStdout(w io.Writer) Cmd { c.stdout = w; return c }

// WithStderr returns a copy of c whose standard error is also written to
// w as it arrives; see [Cmd.WithStdout].
func (c Cmd) WithStderr(w io.Writer) Cmd { c.stderr = w; return c }

// Logged returns a copy of c whose output goes to t's log as it runs, a
// line at a time (t.Output()), each line prefixed with the machine's name
// and the stream ("stdout" or "stderr"). It adds to the writers of
// [Cmd.WithStdout] and [Cmd.WithStderr]. The default is not to log.
func (c Cmd) Logged(t testing.TB) Cmd { c.log = t; return c }

// Args returns the program and its arguments.
func (c Cmd) Args() []string { return append([]string(nil), c.argv...) }

// String returns the command line with each argument quoted for a POSIX
// shell where it needs it, for logs: a person can paste it into a shell in
// the machine.
func (c Cmd) String() string { return cli.Join(c.argv...) }

func (c Cmd) validate() error {
	if len(c.argv) == 0 || c.argv[0] == "" {
		return fmt.Errorf("empty command: use orbtest.Command(name, args...)")
	}
	if strings.HasPrefix(c.argv[0], "-") {
		return fmt.Errorf("command %q starts with '-': name the program first", c.argv[0])
	}
	for _, kv := range c.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsAny(k, " :\x00") {
			return fmt.Errorf("bad environment entry %q: use KEY=VALUE", kv)
		}
	}
	if c.dir != "" {
		if err := backend.CheckGuestPath(c.dir); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	if c.user != "" {
		if err := backend.CheckUser(c.user); err != nil {
			return err
		}
	}
	return nil
}

// Result is what a finished command produced: its standard output and
// error, each whole up to [ResultLimit] bytes (beyond that, the last
// ResultLimit bytes; use [Cmd.WithStdout] for all of it), its exit code
// and how long it ran.
type Result struct {
	Stdout   string
	Stderr   string
	ExitCode int
	Duration time.Duration
}

// ExitError reports a command that ran and exited non-zero. The Result is
// also returned beside it, so tests that expect a failure can read it.
type ExitError struct {
	Machine string
	Cmd     string
	*Result
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("orbtest: machine %q: %s", e.Machine, e.detail())
}

// detail is the message without the machine, for an error that names it
// already.
func (e *ExitError) detail() string {
	msg := fmt.Sprintf("command %s exited %d", e.Cmd, e.ExitCode)
	if s := strings.TrimSpace(tailString(e.Stderr, 1024)); s != "" {
		msg += ": " + s
	}
	return msg
}

// stepError is a failed step of making a machine ready. It reads its cause
// as an enclosing error that names the machine wants it: an *ExitError
// without its machine.
// Its message ends with the last lines of the step's output, when it kept
// them.
type stepError struct {
	step string
	err  error
	tail []string
}

func (e *stepError) Error() string {
	msg := e.step + ": " + e.err.Error()
	if xe, ok := e.err.(*ExitError); ok {
		msg = e.step + ": " + xe.detail()
	}
	if len(e.tail) > 0 {
		msg += "\nlast lines of its output:\n\t" + strings.Join(e.tail, "\n\t")
	}
	return msg
}

func (e *stepError) Unwrap() error { return e.err }

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// orEmpty lets checks read a Result that may be nil.
func (r *Result) orEmpty() *Result {
	if r == nil {
		return &Result{ExitCode: -1}
	}
	return r
}
