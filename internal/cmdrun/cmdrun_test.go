package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		reason string
		script string
		code   int
	}{
		{"success", "exit 0", 0},
		{"failure", "exit 1", 1},
		{"any code", "exit 42", 42},
		{"command not found in the shell", "nosuch-program-for-cmdrun 2>/dev/null", 127},
	}
	for _, tt := range tests {
		res, err := Run(context.Background(), Cmd{Args: []string{"sh", "-c", tt.script}})
		if res.ExitCode != tt.code {
			t.Errorf("%s: ExitCode = %d, want %d", tt.reason, res.ExitCode, tt.code)
		}
		var ce *CommandError
		switch {
		case tt.code == 0 && err != nil:
			t.Errorf("%s: unexpected error %v", tt.reason, err)
		case tt.code != 0 && (!errors.As(err, &ce) || ce.ExitCode != tt.code):
			t.Errorf("%s: error %v, want a *CommandError with exit code %d", tt.reason, err, tt.code)
		}
	}
}

func TestRunCapturesAndTees(t *testing.T) {
	var out, errw bytes.Buffer
	res, err := Run(context.Background(), Cmd{
		Args:   []string{"sh", "-c", `cat; printf '%s' "$CMDRUN_X" >&2; pwd`},
		Env:    []string{"CMDRUN_X=x-value"},
		Dir:    "/",
		Stdin:  strings.NewReader("in\n"),
		Stdout: &out,
		Stderr: &errw,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Stdout), "in\n/\n"; got != want {
		t.Errorf("Stdout = %q, want %q", got, want)
	}
	if got, want := string(res.Stderr), "x-value"; got != want {
		t.Errorf("Stderr = %q, want %q", got, want)
	}
	if out.String() != string(res.Stdout) || errw.String() != string(res.Stderr) {
		t.Errorf("the caller's writers got %q and %q, want the streams", out.String(), errw.String())
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v, want it measured", res.Duration)
	}
}

func TestRunLimitKeepsTheTail(t *testing.T) {
	var out bytes.Buffer
	// 3000 bytes of stdout and stderr: "0123456789" 300 times, then "END".
	script := `i=0; while [ $i -lt 300 ]; do printf 0123456789; printf 0123456789 >&2; i=$((i+1)); done; printf END; printf END >&2; exit 3`
	res, err := Run(context.Background(), Cmd{Args: []string{"sh", "-c", script}, Stdout: &out, Limit: 100})
	if len(res.Stdout) != 100 || !bytes.HasSuffix(res.Stdout, []byte("789END")) {
		t.Errorf("Stdout is %d bytes ending %q, want the last 100", len(res.Stdout), res.Stdout[max(0, len(res.Stdout)-6):])
	}
	if len(res.Stderr) != 100 {
		t.Errorf("Stderr is %d bytes, want the last 100", len(res.Stderr))
	}
	if out.Len() != 3003 {
		t.Errorf("the caller's writer got %d bytes, want all 3003", out.Len())
	}

	// The CommandError keeps at most StderrTail bytes, the last ones.
	res, err = Run(context.Background(), Cmd{Args: []string{"sh", "-c", script}})
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CommandError", err)
	}
	if len(res.Stderr) != 3003 {
		t.Errorf("Stderr is %d bytes, want all 3003 under DefaultLimit", len(res.Stderr))
	}
	if len(ce.Stderr) != StderrTail || !strings.HasSuffix(ce.Stderr, "789END") {
		t.Errorf("CommandError.Stderr is %d bytes, want the last %d", len(ce.Stderr), StderrTail)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		reason string
		writes []string
		want   string
	}{
		{"under the limit", []string{"ab", "cd"}, "abcd"},
		{"exactly the limit", []string{"abcde"}, "abcde"},
		{"old bytes go first", []string{"abc", "def"}, "bcdef"},
		{"one write over the limit", []string{"x", "0123456789"}, "56789"},
		{"many small writes", []string{"a", "b", "c", "d", "e", "f", "g"}, "cdefg"},
	}
	for _, tt := range tests {
		b := &TailBuffer{Max: 5}
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Errorf("%s: Write(%q) = %d, %v; want %d, nil", tt.reason, w, n, err, len(w))
			}
		}
		if got := string(b.Bytes()); got != tt.want {
			t.Errorf("%s: Bytes = %q, want %q", tt.reason, got, tt.want)
		}
	}
}

func TestCommandErrorMessage(t *testing.T) {
	tests := []struct {
		reason string
		err    *CommandError
		want   string
	}{
		{"exit with stderr", &CommandError{Args: []string{"orbctl", "delete", "-f", "m1"}, ExitCode: 1, Stderr: "[-32098] machine not found: 'm1'\n", Err: errors.New("exit status 1")},
			`command "orbctl delete -f m1" exited 1: [-32098] machine not found: 'm1'`},
		{"exit without stderr", &CommandError{Args: []string{"false"}, ExitCode: 1, Err: errors.New("exit status 1")},
			`command "false" exited 1`},
		{"did not start", &CommandError{Args: []string{"/no/incus", "list"}, ExitCode: -1, Err: errors.New("fork/exec /no/incus: no such file or directory")},
			`command "/no/incus list" failed: fork/exec /no/incus: no such file or directory`},
		{"killed, with what it printed", &CommandError{Args: []string{"sleep", "9"}, ExitCode: -1, Stderr: "  partial  ", Err: errors.New("signal: killed")},
			`command "sleep 9" failed: signal: killed: partial`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %s\nwant %s", tt.reason, got, tt.want)
		}
	}
	inner := errors.New("exit status 1")
	if !errors.Is(&CommandError{Err: inner}, inner) {
		t.Error("a CommandError does not unwrap to its Err")
	}
}

func TestRunErrorMessageFromARun(t *testing.T) {
	_, err := Run(context.Background(), Cmd{Args: []string{"sh", "-c", "echo bad thing >&2; exit 2"}})
	if want := `command "sh -c echo bad thing >&2; exit 2" exited 2: bad thing`; err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestRunCannotStart(t *testing.T) {
	tests := []struct {
		reason string
		args   []string
		is     error
	}{
		{"empty argv", nil, nil},
		{"empty program", []string{""}, nil},
		{"no such program", []string{"nosuch-program-for-cmdrun"}, exec.ErrNotFound},
	}
	for _, tt := range tests {
		res, err := Run(context.Background(), Cmd{Args: tt.args})
		if err == nil || res.ExitCode != -1 {
			t.Errorf("%s: Run = exit %d, %v; want exit -1 and an error", tt.reason, res.ExitCode, err)
			continue
		}
		var ce *CommandError
		switch {
		case tt.is == nil && err.Error() != "cmdrun: empty command":
			t.Errorf("%s: err = %v, want cmdrun: empty command", tt.reason, err)
		case tt.is != nil && (!errors.Is(err, tt.is) || !errors.As(err, &ce) || ce.ExitCode != -1):
			t.Errorf("%s: err = %v, want a *CommandError wrapping %v", tt.reason, err, tt.is)
		}
	}
}

func TestRunCancelInterrupts(t *testing.T) {
	tests := []struct {
		reason string
		cancel func() (context.Context, context.CancelFunc)
		want   error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		ctx, cancel := tt.cancel()
		start := time.Now()
		// The script says when SIGINT reaches it, so an interrupt is told
		// from a kill.
		res, err := Run(ctx, Cmd{Args: []string{"sh", "-c", `trap 'echo interrupted; exit 7' INT; echo ready; while :; do sleep 0.05; done`}})
		cancel()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want one wrapping %v", tt.reason, err, tt.want)
		}
		var ce *CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a *CommandError", tt.reason, err)
		}
		if got := string(res.Stdout); got != "ready\ninterrupted\n" || res.ExitCode != 7 {
			t.Errorf("%s: stdout %q, exit %d; want the script interrupted (exit 7)", tt.reason, got, res.ExitCode)
		}
		if d := time.Since(start); d > WaitDelay {
			t.Errorf("%s: Run took %v, want it interrupted, not killed after WaitDelay", tt.reason, d)
		}
	}
}

func TestRunKillsWhatIgnoresTheInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skipf("skipping test: waits WaitDelay (%v) in -short mode", WaitDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Cmd{Args: []string{"sh", "-c", `trap '' INT; exec sleep 30`}})
	if !errors.Is(err, context.DeadlineExceeded) || res.ExitCode != -1 {
		t.Errorf("err = %v, exit %d; want a kill wrapping context.DeadlineExceeded", err, res.ExitCode)
	}
	if d := time.Since(start); d > WaitDelay+5*time.Second {
		t.Errorf("Run took %v, want about WaitDelay (%v)", d, WaitDelay)
	}
}
