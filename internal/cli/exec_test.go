package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// local runs guest argv on this host, starting in / as a backend does.
func local(guest []string) ([]string, error) {
	return append([]string{"/bin/sh", "-c", `cd / && exec "$@"`, "local"}, guest...), nil
}

func runLocal(ctx context.Context, dir string, home bool, stdin io.Reader, argv ...string) (Outcome, string, string, error) {
	var out, errb bytes.Buffer
	o, err := RunGuarded(ctx, Guarded{Command: local, Root: local, Dir: dir, Home: home, Argv: argv, Stdin: stdin, Stdout: &out, Stderr: &errb})
	return o, out.String(), errb.String(), err
}

func TestRunGuarded(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	bin := make([]byte, 70000)
	_, _ = rand.Read(bin)
	binFile := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(binFile, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reason         string
		dir            string
		home           bool
		stdin          string
		argv           []string
		status         int
		stdout, stderr string
	}{
		{reason: "output without a trailing newline", dir: "/", argv: []string{"printf", "a\nb"}, stdout: "a\nb"},
		{reason: "both streams and a status", dir: "/", argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, status: 3, stdout: "out\n", stderr: "err\n"},
		{reason: "a record-like string of the command's own", dir: "/", argv: []string{"printf", "\036orbtest:0123456789abcdef:end:0\n"}, stdout: "\036orbtest:0123456789abcdef:end:0\n"},
		{reason: "binary output", dir: "/", argv: []string{"cat", binFile}, stdout: string(bin)},
		{reason: "stdin reaches the command", dir: "/", stdin: "in\x00put", argv: []string{"cat"}, stdout: "in\x00put"},
		{reason: "no stdin reads as empty", dir: "/", argv: []string{"cat"}},
		{reason: "a signal is 128+N", dir: "/", argv: []string{"sh", "-c", "kill -9 $$"}, status: 137},
		{reason: "the working directory", dir: "/tmp", argv: []string{"pwd"}, stdout: "/tmp\n"},
		{reason: "a missing home is /", dir: "/nonexistent-home", home: true, argv: []string{"pwd"}, stdout: "/\n"},
		{reason: "a missing program is 127", dir: "/", argv: []string{"no-such-program-x"}, status: 127, stderr: "*no-such-program-x*"},
		{reason: "its own session", dir: "/", argv: []string{"sh", "-c", `[ "$(ps -o sid= -p $$ | tr -d ' ')" = $$ ] && echo leader`}, stdout: "leader\n"},
	}
	for _, tt := range tests {
		var in io.Reader
		if tt.stdin != "" {
			in = strings.NewReader(tt.stdin)
		}
		o, out, errs, err := runLocal(t.Context(), tt.dir, tt.home, in, tt.argv...)
		wantErrs := errs == tt.stderr
		if pat, ok := strings.CutPrefix(tt.stderr, "*"); ok {
			wantErrs = strings.Contains(errs, strings.TrimSuffix(pat, "*"))
		}
		if err != nil || !o.Ran || o.Status != tt.status || out != tt.stdout || !wantErrs {
			t.Errorf("%s: %+v %v\nstdout %q\nstderr %q\nwant status %d stdout %q stderr %q", tt.reason, o, err, trunc(out), trunc(errs), tt.status, trunc(tt.stdout), tt.stderr)
		}
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

func TestRunGuardedMissingDir(t *testing.T) {
	_, _, _, err := runLocal(t.Context(), "/nope/orbtest", false, nil, "true")
	if !errors.Is(err, backend.ErrInvalid) || !strings.Contains(err.Error(), `"/nope/orbtest"`) {
		t.Errorf("missing dir: %v; want an invalid-input error naming the directory", err)
	}
}

func TestRunGuardedToolFails(t *testing.T) {
	fail := func([]string) ([]string, error) {
		return []string{"sh", "-c", "echo 'Error: Instance not found' >&2; exit 1"}, nil
	}
	o, err := RunGuarded(t.Context(), Guarded{Command: fail, Root: fail, Dir: "/", Argv: []string{"true"}})
	if err == nil || o.Ran || o.Client.ExitCode != 1 || !strings.Contains(string(o.Client.Stderr), "Instance not found") {
		t.Errorf("tool failure: %+v, %v; want the tool's error and result", o, err)
	}
	lose := func([]string) ([]string, error) { return []string{"sh", "-c", "printf '\\036orbtest:x:nothing'"}, nil }
	if _, err := RunGuarded(t.Context(), Guarded{Command: lose, Root: lose, Dir: "/", Argv: []string{"true"}}); !errors.Is(err, ErrIncomplete) {
		t.Errorf("no records and exit 0: %v; want ErrIncomplete", err)
	}
}

// procs counts this host's processes whose command line holds word.
func procs(t *testing.T, word string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	n := 0
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, []byte(word)) {
			n++
		}
	}
	return n
}

func TestRunGuardedCancel(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	tests := []struct {
		reason string
		script string
		stdin  io.Reader
	}{
		{"a plain sleep", "exec sleep 1001.%d", nil},
		{"a command that traps TERM", "trap '' TERM; sleep 1001.%d; sleep 1001.%[1]d", nil},
		{"background children", "sleep 1001.%d & sleep 1001.%[1]d & wait", nil},
		{"stdin that never ends", "cat; sleep 1001.%d", blockingReader{}},
	}
	for i, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			word := fmt.Sprintf("1001.%d", 500+i)
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			_, _, _, err := runLocal(ctx, "/", false, tt.stdin, "sh", "-c", fmt.Sprintf(tt.script, 500+i))
			late := time.Since(deadline(ctx))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want one wrapping context.DeadlineExceeded", err)
			}
			if late > 1500*time.Millisecond {
				t.Errorf("returned %v after the deadline", late)
			}
			if n := procs(t, word); n != 0 {
				t.Errorf("%d processes of the command remain", n)
			}
		})
	}
}

// TestRunGuardedTails: with Tails, RunGuarded returns with the whole output
// and the status while the guard's release is still to come, and the tail
// leaves no process behind.
func TestRunGuardedTails(t *testing.T) {
	for _, stdin := range []bool{false, true} {
		word := fmt.Sprintf("tails-%v", stdin)
		var tails sync.WaitGroup
		unblock := make(chan struct{})
		root := func(guest []string) ([]string, error) {
			<-unblock // the ack in stdin mode waits for the test
			return local(guest)
		}
		var in io.Reader
		want := "x"
		if stdin {
			in, want = strings.NewReader("in"), "inx"
		}
		var out bytes.Buffer
		o, err := RunGuarded(t.Context(), Guarded{Command: local, Root: root, Dir: "/",
			Argv: []string{"sh", "-c", "cat; printf x; exit 4", word}, Stdin: in, Stdout: &out, Tails: &tails})
		if err != nil || !o.Ran || o.Status != 4 || out.String() != want {
			t.Errorf("stdin %v: %+v %v, stdout %q; want status 4, stdout %q", stdin, o, err, out.String(), want)
		}
		if stdin && procs(t, word) == 0 {
			t.Errorf("stdin mode: the guard was gone before its ack")
		}
		close(unblock)
		tails.Wait()
		if n := procs(t, word); n != 0 {
			t.Errorf("stdin %v: %d processes remain after the tail", stdin, n)
		}
	}
}

// TestRunGuardedCancelAtStart cancels commands as they start: a kill that
// comes between the start record and setsid must still end the command.
func TestRunGuardedCancelAtStart(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	for i := range 30 {
		word := fmt.Sprintf("1002.%d", i)
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*time.Millisecond/2)
		_, _, _, err := runLocal(ctx, "/", false, nil, "sleep", word)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after %v: err = %v, want one wrapping context.DeadlineExceeded", time.Duration(i)*time.Millisecond/2, err)
		}
		if n := procs(t, word); n != 0 {
			t.Errorf("after %v: %d processes of the command remain", time.Duration(i)*time.Millisecond/2, n)
		}
	}
}

func deadline(ctx context.Context) time.Time { d, _ := ctx.Deadline(); return d }

// blockingReader is a stdin that never ends.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }
