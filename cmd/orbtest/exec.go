package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/orbtest/go-orbtest/internal/goexec"
	lib "github.com/orbtest/go-orbtest/orbtest"
)

// exitMachine is orbtest exec's exit code when the machine or the backend
// failed, or the run was interrupted: not the tests. The test binary's own
// exit codes are 0, 1 (tests failed) and 2 (panic, timeout, bad flags).
const exitMachine = 125

const execText = `
Runs a Go test binary in a machine of orbtest's pool, for go test -exec:

	GOOS=linux go test -exec "orbtest exec" ./...

The binary runs as -user in a copy of its package directory at
/tmp/orbtest-go/src/IMPORTPATH, with -test.* flags and GOCOVERDIR that name
host paths pointed into the machine and their files brought back. Its
stdout and stderr pass through byte for byte and its exit code is orbtest
exec's; the host's environment does not reach it, except GOCOVERDIR and
the variables of -env. Every package binary of one go command leases a
machine of the spec from the run's pool (ORBTEST_MAX_VMS bounds them), and
the run's reaper deletes them when the go command exits. The machine's
architecture is the binary's unless -arch says otherwise.

ORBTEST_EXEC_FLAGS holds flags read before the command line's, so that a
go_linux_ARCH_exec on PATH can be: exec orbtest exec "$@"

Exit code: the test binary's; 125 when the machine or the backend failed
or the run was interrupted (then it was not the tests); 2 on bad flags.`

func runExec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("exec", "exec [flags] TESTBINARY [ARGS...]", execText, stderr)
	fs.SetOutput(io.Discard)
	var f execFlags
	pos, err := parseExecFlags(fs, &f, args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return exitOK
	case err != nil:
		errorf(stderr, "exec: %v", err)
		fs.Usage()
		return exitUsage
	}
	bin, binArgs := pos[0], pos[1:]
	binArch, err := goexec.BinaryArch(bin)
	if err != nil {
		errorf(stderr, "exec: %v", err)
		return exitUsage
	}
	spec, envs, err := f.spec(binArch)
	if err != nil {
		errorf(stderr, "exec: %v", err)
		return exitUsage
	}
	dir, err := os.Getwd()
	if err != nil {
		errorf(stderr, "exec: %v", err)
		return exitUsage
	}
	job := goexec.Job{Binary: bin, Args: binArgs, HostDir: dir, GoCoverDir: os.Getenv("GOCOVERDIR"), Env: envs, Stdout: stdout, Stderr: stderr}
	if _, _, err := goexec.Prepare(job); err != nil {
		errorf(stderr, "exec: %v", err)
		return exitUsage
	}
	var log bytes.Buffer // lifecycle lines, shown only when the machine fails
	logf := func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }
	code, err := execIn(ctx, spec, f.user, job, logf)
	if err == nil {
		return code
	}
	if ctx.Err() != nil {
		errorf(stderr, "exec: interrupted, not the tests: %s was ended in the machine and the machine released: %v", bin, err)
		return exitMachine
	}
	stderr.Write(log.Bytes())
	errorf(stderr, "exec: the machine failed, not the tests (exit %d): %v", exitMachine, err)
	return exitMachine
}

// execIn leases a machine of spec, runs job in it as user and releases
// the machine: reset for the next package, or deleted when the run was
// interrupted or the machine failed.
func execIn(ctx context.Context, spec lib.Spec, user string, job goexec.Job, logf func(string, ...any)) (code int, err error) {
	vm, release, err := lib.LeaseVM(ctx, spec, lib.WithLogf(logf))
	if err != nil {
		return 0, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if rerr := release(rctx, err != nil || ctx.Err() != nil); rerr != nil && err == nil {
			code, err = 0, rerr
		}
	}()
	return goexec.Run(ctx, vmRunner(vm, user), job)
}

// vmRunner runs goexec's commands in vm as user through VM.Exec, whose
// cancel ends the command's process group in the machine.
func vmRunner(vm *lib.VM, user string) goexec.Runner {
	return func(ctx context.Context, c goexec.Command) (int, error) {
		cmd := lib.Command(c.Argv[0], c.Argv[1:]...).InDir(c.Dir).AsUser(user).WithEnv(c.Env...)
		if c.Stdin != nil {
			cmd = cmd.WithStdin(c.Stdin)
		}
		if c.Stdout != nil {
			cmd = cmd.WithStdout(c.Stdout)
		}
		if c.Stderr != nil {
			cmd = cmd.WithStderr(c.Stderr)
		}
		res, err := vm.Exec(ctx, cmd)
		var xe *lib.ExitError
		if errors.As(err, &xe) {
			return xe.Result.ExitCode, nil
		}
		if err != nil {
			return 0, err
		}
		return res.ExitCode, nil
	}
}
