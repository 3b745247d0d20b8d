package fakeorbctl

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type result struct {
	stdout, stderr string
	code           int
}

// newFake is New with a fixed default user, so tests do not depend on $USER.
func newFake(t *testing.T, opts ...Option) *Fake {
	t.Helper()
	return New(t, append([]Option{WithEnv(EnvUser, "alice")}, opts...)...)
}

// run runs the fake with stdin and returns what it printed and its exit code.
func run(t *testing.T, f *Fake, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := f.CommandContext(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("orbctl %q: %v (stderr %q)", args, err, errb.String())
	}
	return res
}

// ok runs the fake and fails the test unless it exits 0; it returns stdout.
func ok(t *testing.T, f *Fake, args ...string) string {
	t.Helper()
	r := run(t, f, "", args...)
	if r.code != 0 {
		t.Fatalf("orbctl %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// wantErr runs the fake and checks the exit code and that stderr contains want.
func wantErr(t *testing.T, f *Fake, code int, want string, args ...string) result {
	t.Helper()
	r := run(t, f, "", args...)
	if r.code != code {
		t.Errorf("orbctl %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("orbctl %q: stderr %q does not contain %q", args, r.stderr, want)
	}
	return r
}

func state(t *testing.T, f *Fake, name string) string {
	t.Helper()
	r, ok := f.Machine(name)
	if !ok {
		t.Fatalf("machine %q does not exist (have %v)", name, f.Machines())
	}
	return r.State
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
