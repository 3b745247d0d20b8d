package integration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// asExitError returns err as an *ExitError, failing the test when it is not one.
func asExitError(t *testing.T, err error) *orbtest.ExitError {
	t.Helper()
	var xe *orbtest.ExitError
	require.ErrorAs(t, err, &xe)
	return xe
}

func TestExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	// A signal-killed command: on Incus the status is the shell's 128+N.
	// orbctl's report of a signal death is not pinned down, so on other
	// backends only "non-zero, and an ExitError" is required.
	signalCode := func(sig int) int {
		if vm.Backend() == "incus" {
			return 128 + sig
		}
		return -1 // any non-zero
	}
	cases := []struct {
		name string
		cmd  orbtest.Cmd
		want int
	}{
		{"true", orbtest.Command("true"), 0},
		{"false", orbtest.Command("false"), 1},
		{"exit 42", orbtest.ShellCommand("exit 42"), 42},
		{"SIGKILL", orbtest.ShellCommand("kill -KILL $$"), signalCode(9)},
		{"SIGTERM", orbtest.ShellCommand("kill -TERM $$"), signalCode(15)},
		{"missing program", orbtest.Command("orbtest-no-such-command"), 127},
		{"missing program in shell", orbtest.ShellCommand("orbtest-no-such-command"), 127},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := vm.Exec(t.Context(), tc.cmd)
			require.NotNil(t, res, "a command that ran returns its Result (err: %v)", err)
			if tc.want == 0 {
				require.NoError(t, err)
				assert.Equal(t, 0, res.ExitCode)
				return
			}
			xe := asExitError(t, err)
			if tc.want > 0 {
				assert.Equal(t, tc.want, res.ExitCode)
			} else {
				assert.NotZero(t, res.ExitCode)
			}
			assert.Same(t, res, xe.Result, "the ExitError carries the returned Result")
			assert.Equal(t, vm.Name(), xe.Machine)
			assert.Equal(t, tc.cmd.String(), xe.Cmd)
			assert.Contains(t, err.Error(), fmt.Sprintf("exited %d", res.ExitCode))
		})
	}
}

func TestExitErrorMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	t.Run("stderr in message", func(t *testing.T) {
		c := orbtest.ShellCommand("echo partial output; echo 'it broke' >&2; exit 3")
		res, err := vm.Exec(t.Context(), c)
		xe := asExitError(t, err)
		assert.Equal(t, 3, xe.ExitCode)
		assert.Equal(t, "partial output\n", res.Stdout, "stdout of a failed command is kept")
		assert.Equal(t, "it broke\n", res.Stderr)
		assert.Equal(t,
			fmt.Sprintf("orbtest: machine %q: command %s exited 3: it broke", vm.Name(), c.String()),
			err.Error())
	})

	t.Run("long stderr", func(t *testing.T) {
		// 300 lines of stderr: the message keeps a tail, the Result keeps everything.
		res, err := vm.Shell(t.Context(), `i=0; while [ $i -lt 300 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 5`)
		xe := asExitError(t, err)
		assert.Equal(t, 5, xe.ExitCode)
		assert.Equal(t, 300, strings.Count(res.Stderr, "\n"), "Result.Stderr is complete")
		assert.True(t, strings.HasPrefix(res.Stderr, "line 0\nline 1\n"))
		msg := err.Error()
		assert.Contains(t, msg, "line 299")
		assert.Contains(t, msg, "...", "a long stderr is cut")
		assert.NotContains(t, msg, "line 0\n")
		assert.Less(t, len(msg), 1500)
	})

	t.Run("no stderr", func(t *testing.T) {
		_, err := vm.Run(t.Context(), "false")
		assert.Equal(t, fmt.Sprintf("orbtest: machine %q: command false exited 1", vm.Name()), err.Error())
	})
}

func TestOutputStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	t.Run("stdout vs stderr", func(t *testing.T) {
		res, err := vm.Shell(t.Context(), "echo to-out; echo to-err >&2; echo more-out; printf 'no newline' >&2")
		require.NoError(t, err)
		assert.Equal(t, "to-out\nmore-out\n", res.Stdout)
		assert.Equal(t, "to-err\nno newline", res.Stderr)
		assert.Equal(t, 0, res.ExitCode)
	})

	t.Run("large stdout", func(t *testing.T) {
		const n = 5 << 20
		res, err := vm.Shell(t.Context(), fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", n))
		require.NoError(t, err)
		assert.Len(t, res.Stdout, n, "stdout is not truncated")
		assert.Equal(t, strings.Repeat("x", 64), res.Stdout[n-64:])
		assert.Empty(t, res.Stderr)
	})

	t.Run("binary stdout", func(t *testing.T) {
		// printf with octal escapes writes all 256 byte values.
		var script strings.Builder
		script.WriteString("printf '")
		for i := range 256 {
			fmt.Fprintf(&script, "\\%03o", i)
		}
		script.WriteString("'")
		res, err := vm.Shell(t.Context(), script.String())
		require.NoError(t, err)
		assert.Equal(t, string(allBytes()), res.Stdout)
	})

	t.Run("duration", func(t *testing.T) {
		res, err := vm.Run(t.Context(), "sleep", "0.3")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, res.Duration, 300*time.Millisecond)
		assert.Less(t, res.Duration, time.Minute)
	})
}

// allBytes returns the 256 byte values in order.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	t.Run("text", func(t *testing.T) {
		in := "hello\nwörld ✓\n\nlast line without newline"
		res := vm.MustExec(t, orbtest.Command("cat").WithStdin(strings.NewReader(in)))
		assert.Equal(t, in, res.Stdout)
		out := vm.MustExec(t, orbtest.Command("wc", "-l").WithStdin(strings.NewReader(in))).Stdout
		assert.Equal(t, "3", strings.TrimSpace(out))
	})

	t.Run("binary", func(t *testing.T) {
		// Every byte value, NUL and CR/LF included, 256 times over.
		data := bytes.Repeat(allBytes(), 256)
		res := vm.MustExec(t, orbtest.Command("cat").WithStdin(bytes.NewReader(data)))
		assert.True(t, res.Stdout == string(data), "binary stdin came back changed (%d bytes in, %d out)", len(data), len(res.Stdout))
		sum := sha256.Sum256(data)
		out := vm.MustExec(t, orbtest.Command("sha256sum").WithStdin(bytes.NewReader(data))).Stdout
		assert.Equal(t, hex.EncodeToString(sum[:])+"  -\n", out)
	})

	t.Run("large", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, more than any pipe buffer
		out := vm.MustExec(t, orbtest.Command("wc", "-c").WithStdin(bytes.NewReader(data))).Stdout
		assert.Equal(t, fmt.Sprint(len(data)), strings.TrimSpace(out))
	})

	t.Run("none", func(t *testing.T) {
		// Without WithStdin a command reads end of file at once, not the host's stdin.
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		res, err := vm.Run(ctx, "cat")
		require.NoError(t, err)
		assert.Empty(t, res.Stdout)
	})

	t.Run("through a shell pipeline", func(t *testing.T) {
		c := orbtest.ShellCommand("tr a-z A-Z | sed 's/^/> /'").WithStdin(strings.NewReader("abc\ndef\n"))
		assert.Equal(t, "> ABC\n> DEF\n", vm.MustExec(t, c).Stdout)
	})
}

func TestEnv(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	t.Run("values", func(t *testing.T) {
		vals := map[string]string{
			"SPACES":  "a b  c ",
			"EQUALS":  "k=v==w=",
			"UNICODE": "héllo wörld ✓ 日本語",
			"TRICKY":  "$HOME `id` $(id) \"dq\" 'sq' \\ ; | & *",
			"EMPTY":   "",
		}
		names := []string{"SPACES", "EQUALS", "UNICODE", "TRICKY", "EMPTY"}
		var pairs []string
		want := ""
		for _, k := range names {
			pairs = append(pairs, k+"="+vals[k])
			want += vals[k] + "\n"
		}
		res := vm.MustExec(t, orbtest.Command("printenv", names...).WithEnv(pairs...))
		assert.Equal(t, want, res.Stdout)
	})

	t.Run("Cmd values are independent", func(t *testing.T) {
		plain := orbtest.Command("printenv", "ORBTEST_X")
		a := plain.WithEnv("ORBTEST_X=a")
		b := plain.WithEnv("ORBTEST_X=b")
		ab := a.WithEnv("ORBTEST_Y=y")
		assert.Equal(t, "a\n", vm.MustExec(t, a).Stdout)
		assert.Equal(t, "b\n", vm.MustExec(t, b).Stdout)
		assert.Equal(t, "a y\n", vm.MustExec(t, orbtest.ShellCommand(`echo "$ORBTEST_X $ORBTEST_Y"`).WithEnv("ORBTEST_X=a", "ORBTEST_Y=y")).Stdout)
		assert.Equal(t, []string{"printenv", "ORBTEST_X"}, ab.Args())
		// Nothing leaks from one command into the next, or from a copy into its base.
		res, err := vm.Exec(t.Context(), plain)
		xe := asExitError(t, err)
		assert.Equal(t, 1, xe.ExitCode, "ORBTEST_X is unset")
		assert.Empty(t, res.Stdout)
	})

	t.Run("HOME USER", func(t *testing.T) {
		u := defaultUser(t, vm.Backend())
		out := vm.MustShell(t, `echo "$HOME"; id -un`)
		home := strings.TrimSpace(vm.MustShell(t, `getent passwd "$(id -un)" | cut -d: -f6`))
		assert.Equal(t, home+"\n"+u+"\n", out)
	})

	t.Run("bad entry", func(t *testing.T) {
		for _, kv := range []string{"NOEQUALS", "=value", "WITH SPACE=x"} {
			res, err := vm.Exec(t.Context(), orbtest.Command("true").WithEnv(kv))
			require.Error(t, err, "%q", kv)
			assert.Nil(t, res, "%q: nothing ran", kv)
			assert.Contains(t, err.Error(), "bad environment entry")
			var xe *orbtest.ExitError
			assert.False(t, errors.As(err, &xe))
		}
	})
}

func TestArgv(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	t.Run("passed literally", func(t *testing.T) {
		args := []string{
			"two words", `it's "quoted"`, "$HOME", "${PATH}", "a;b", "`id`", "$(id)",
			"*", "~", "back\\slash", "new\nline", "tab\there", "", "-n", "--", "ünï ✓ 日本", "a|b>c<d&e",
		}
		res := vm.MustExec(t, orbtest.Command("printf", append([]string{`[%s]\n`}, args...)...))
		want := ""
		for _, a := range args {
			want += "[" + a + "]\n"
		}
		assert.Equal(t, want, res.Stdout)
	})

	t.Run("Command has no shell", func(t *testing.T) {
		out := vm.MustRun(t, "echo", "a | wc -l", ">", "/tmp/orbtest-not-a-file")
		assert.Equal(t, "a | wc -l > /tmp/orbtest-not-a-file\n", out)
		_, err := vm.Run(t.Context(), "test", "-e", "/tmp/orbtest-not-a-file")
		assert.Equal(t, 1, asExitError(t, err).ExitCode, "no redirection happened")
	})

	t.Run("ShellCommand has one", func(t *testing.T) {
		assert.Equal(t, "3\n", vm.MustShell(t, "printf 'a\\nb\\nc\\n' | wc -l"))
		assert.Equal(t, "hi\n", vm.MustShell(t, "echo hi >/tmp/orbtest-redir && cat </tmp/orbtest-redir"))
		assert.Equal(t, "2\n", vm.MustShell(t, "x=1; echo $((x+1))"))
		script := `echo "$0" "$#"`
		assert.Equal(t, []string{"sh", "-c", script}, orbtest.ShellCommand(script).Args())
		assert.Equal(t, "sh 0\n", vm.MustExec(t, orbtest.ShellCommand(script)).Stdout)
	})

	t.Run("bad commands", func(t *testing.T) {
		for _, c := range []orbtest.Cmd{orbtest.Command(""), orbtest.Command("-rf", "/"), orbtest.Command("true").AsUser("Bad User")} {
			res, err := vm.Exec(t.Context(), c)
			require.Error(t, err, "%v", c.Args())
			assert.Nil(t, res)
		}
	})
}

func TestUsersAndDirs(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()

	t.Run("backend default user", func(t *testing.T) {
		vm := orbtest.NewVM(t, base, orbtest.Shared())
		// Backends differ: root on Incus, the Mac user on OrbStack.
		u := defaultUser(t, vm.Backend())
		assert.Equal(t, u+"\n", vm.MustRun(t, "id", "-un"))
		assert.Equal(t, "root\n", vm.MustExec(t, orbtest.Command("id", "-un").AsUser("root")).Stdout)
		assert.Equal(t, "0\n", vm.MustExec(t, orbtest.Command("id", "-u").AsUser("root")).Stdout)
		home := strings.TrimSpace(vm.MustRun(t, "sh", "-c", `getent passwd "$(id -un)" | cut -d: -f6`))
		if vm.Backend() == "incus" {
			assert.Equal(t, "/root", home)
		}
		assert.Equal(t, home+"\n", vm.MustRun(t, "pwd"), "the default working directory is the user's home")
		assert.Equal(t, "/root\n", vm.MustExec(t, orbtest.Command("pwd").AsUser("root")).Stdout)

		// A user the machine does not have cannot run anything.
		res, err := vm.Exec(t.Context(), orbtest.Command("true").AsUser("orbtest-nobody"))
		assert.Error(t, err)
		if res != nil {
			assert.NotZero(t, res.ExitCode)
		}
	})

	t.Run("InDir", func(t *testing.T) {
		vm := orbtest.NewVM(t, base, orbtest.Shared())
		assert.Equal(t, "/tmp\n", vm.MustExec(t, orbtest.Command("pwd").InDir("/tmp")).Stdout)
		assert.Equal(t, "/\n", vm.MustExec(t, orbtest.Command("pwd").InDir("/")).Stdout)
		vm.MustRun(t, "mkdir", "-p", "/tmp/dir with space/ünï")
		assert.Equal(t, "/tmp/dir with space/ünï\n", vm.MustExec(t, orbtest.ShellCommand("pwd").InDir("/tmp/dir with space/ünï")).Stdout)
		// Relative paths resolve against the directory.
		vm.MustShell(t, "echo inside >'/tmp/dir with space/f.txt'")
		assert.Equal(t, "inside\n", vm.MustExec(t, orbtest.Command("cat", "f.txt").InDir("/tmp/dir with space")).Stdout)
		assert.Equal(t, "/etc\n", vm.MustExec(t, orbtest.Command("pwd").InDir("/etc").AsUser("root")).Stdout)

		res, err := vm.Exec(t.Context(), orbtest.Command("pwd").InDir("tmp"))
		require.Error(t, err)
		assert.Nil(t, res)
		assert.Contains(t, err.Error(), "not absolute")

		// A directory that does not exist is an error that names it, not an
		// exit code of the command; it never runs somewhere else.
		res, err = vm.Exec(t.Context(), orbtest.Command("pwd").InDir("/nonexistent/dir"))
		var exit *orbtest.ExitError
		require.Error(t, err)
		assert.False(t, errors.As(err, &exit), "not an *ExitError: %v", err)
		assert.Nil(t, res)
		assert.Contains(t, err.Error(), `working directory "/nonexistent/dir" does not exist`)

		// A user whose home does not exist runs in / by default.
		if vm.Backend() == "incus" {
			assert.Equal(t, "/\n", vm.MustExec(t, orbtest.Command("pwd").AsUser("nobody")).Stdout)
		}
	})
}

func TestContextCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	res, err := vm.Run(ctx, "sleep", "300")
	require.Error(t, err)
	assert.Nil(t, res, "a command cut short by its context has no Result")
	var xe *orbtest.ExitError
	assert.False(t, errors.As(err, &xe), "not an exit: %v", err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 20*time.Second)
	// The machine still works.
	assert.Equal(t, "ok\n", vm.MustRun(t, "echo", "ok"))
}

// fatalRecorder is a testing.TB whose Fatal ends only the goroutine it is
// called on, so a test can check that a Must method fails its test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a recorder and returns what it passed to Fatal, or
// fails the test when fn returned without calling Fatal.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	rec := &fatalRecorder{TB: t}
	returned := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
		returned = true
	}()
	<-done
	require.False(t, returned, "expected a call to Fatal")
	return rec.msg
}

func TestMust(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared()) // changes nothing that matters: the run's one Shared machine

	assert.Equal(t, "hi there\n", vm.MustRun(t, "echo", "hi", "there"))
	assert.Equal(t, "42\n", vm.MustShell(t, "echo $((6*7))"))
	res := vm.MustExec(t, orbtest.ShellCommand("echo out; echo err >&2").AsUser("root").InDir("/tmp"))
	assert.Equal(t, "out\n", res.Stdout)
	assert.Equal(t, "err\n", res.Stderr)
	assert.Equal(t, 0, res.ExitCode)

	msg := fatalOf(t, func(tb testing.TB) { vm.MustRun(tb, "false") })
	assert.Contains(t, msg, "command false exited 1")
	msg = fatalOf(t, func(tb testing.TB) { vm.MustShell(tb, "echo bad >&2; exit 7") })
	assert.Contains(t, msg, "exited 7: bad")
	msg = fatalOf(t, func(tb testing.TB) { vm.MustExec(tb, orbtest.Command("orbtest-no-such-command")) })
	assert.Contains(t, msg, "exited 127")
	msg = fatalOf(t, func(tb testing.TB) { vm.MustExec(tb, orbtest.Command("true").InDir("relative")) })
	assert.Contains(t, msg, "not absolute")
}

// TestOutputComplete runs many short commands, a few at a time, and checks
// that all their output arrives. On a loaded host Incus can drop the output
// a command writes just before it exits (the exec relay loses what is in
// flight, lxc/lxc#4282): the command exits 0 and its Result has empty
// streams. A failure here names that problem; elsewhere it shows as a
// random assertion on Stdout or Stderr.
func TestOutputComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base, orbtest.Shared())
	const n, par = 40, 4
	var lost atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := vm.Shell(t.Context(), fmt.Sprintf("echo out-%d; echo err-%d >&2", i, i))
			if err != nil {
				t.Errorf("command %d: %v", i, err)
				return
			}
			if res.Stdout != fmt.Sprintf("out-%d\n", i) || res.Stderr != fmt.Sprintf("err-%d\n", i) {
				lost.Add(1)
				t.Errorf("command %d exited %d with stdout %q, stderr %q", i, res.ExitCode, res.Stdout, res.Stderr)
			}
		}()
	}
	wg.Wait()
	if k := lost.Load(); k > 0 {
		t.Errorf("%d of %d commands lost output they wrote just before exiting (on Incus: lxc/lxc#4282, exec output dropped under load)", k, n)
	}
}
