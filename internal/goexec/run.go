package goexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Command is one command to run in the machine.
type Command struct {
	Argv   []string
	Dir    string // absolute guest path
	Env    []string
	Stdin  io.Reader // nil: none
	Stdout io.Writer
	Stderr io.Writer
}

// Runner runs a command in the machine as the test binary's user and
// returns its exit code; an error means it did not run to its end (the
// machine or the backend failed, or ctx ended).
type Runner func(ctx context.Context, c Command) (int, error)

// Job is one run of a test binary.
type Job struct {
	Binary     string   // host path of the test binary
	Args       []string // its arguments, as go test passes them
	HostDir    string   // the package directory on the host (go test's working directory)
	GoCoverDir string   // the host's GOCOVERDIR, "" when unset
	Env        []string // further KEY=VALUE for the binary
	Stdout     io.Writer
	Stderr     io.Writer
}

// MachineError is a failure that is not the tests': the machine or the
// backend could not do its part.
type MachineError struct{ Err error }

func (e *MachineError) Error() string { return e.Err.Error() }
func (e *MachineError) Unwrap() error { return e.Err }

// Prepare decides the layout and the plan of j without running anything.
func Prepare(j Job) (Layout, Plan, error) {
	l, err := NewLayout(ImportPath(j.Binary), filepath.Base(j.Binary))
	if err != nil {
		return Layout{}, Plan{}, err
	}
	p, err := Rewrite(j.Args, j.GoCoverDir, j.HostDir, l)
	return l, p, err
}

// Run copies j's package directory and binary into the machine, runs the
// binary there with its output going to j's writers byte for byte, and
// brings back the files it wrote for host paths. It returns the binary's
// exit code; an error is a *MachineError, or a bad job.
func Run(ctx context.Context, run Runner, j Job) (int, error) {
	l, p, err := Prepare(j)
	if err != nil {
		return 0, err
	}
	if err := unpack(ctx, run, j, l, p); err != nil {
		return 0, &MachineError{err}
	}
	code, err := run(ctx, Command{
		Argv: append([]string{l.FromPkgDir(l.Bin)}, p.Args...), Dir: l.PkgDir,
		Env: append(append([]string(nil), p.Env...), j.Env...), Stdout: j.Stdout, Stderr: j.Stderr,
	})
	if err != nil {
		return 0, &MachineError{fmt.Errorf("run %s: %w", filepath.Base(j.Binary), err)}
	}
	if len(p.Outputs) > 0 {
		if err := collect(ctx, run, l, p); err != nil {
			return code, &MachineError{err}
		}
	}
	return code, nil
}

// unpackScript empties Root ($1, relative to /) and unpacks the archive on
// its standard input there.
const unpackScript = `rm -rf -- "$1" && mkdir -p -- "$1" && tar -xf - -C "$1"`

func unpack(ctx context.Context, run Runner, j Job, l Layout, p Plan) error {
	pr, pw := io.Pipe()
	packErr := make(chan error, 1)
	go func() {
		err := Pack(pw, j.HostDir, j.Binary, l, p.Outputs)
		pw.CloseWithError(err)
		packErr <- err
	}()
	var stderr bytes.Buffer
	code, err := run(ctx, Command{Argv: []string{"sh", "-c", unpackScript, "sh", FromRoot(Root)}, Dir: "/", Stdin: pr, Stderr: &stderr})
	pr.CloseWithError(io.ErrClosedPipe) // the packer stops if tar left early
	if perr := <-packErr; perr != nil && perr != io.ErrClosedPipe {
		return perr
	}
	if err != nil {
		return fmt.Errorf("copy the package into the machine: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("copy the package into the machine: tar exited %d: %s", code, tail(stderr.String()))
	}
	return nil
}

func collect(ctx context.Context, run Runner, l Layout, p Plan) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Unpack(pr, p.Outputs)
		if err == nil {
			_, err = io.Copy(io.Discard, pr)
		}
		pr.CloseWithError(err)
		done <- err
	}()
	var stderr bytes.Buffer
	code, err := run(ctx, Command{Argv: []string{"tar", "-cf", "-", "-C", FromRoot(l.Out), "."}, Dir: "/", Stdout: pw, Stderr: &stderr})
	pw.Close()
	uerr := <-done
	switch {
	case err != nil:
		return fmt.Errorf("bring back the test's files: %w", err)
	case code != 0:
		return fmt.Errorf("bring back the test's files: tar exited %d: %s", code, tail(stderr.String()))
	case uerr != nil:
		return uerr
	}
	return nil
}

// tail is the last lines of a command's stderr, for an error.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = "..." + s[len(s)-512:]
	}
	return s
}
