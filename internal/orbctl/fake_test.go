package orbctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
)

// These tests drive the Driver against internal/fakeorbctl, a fake orbctl
// that follows OrbStack's CLI reference (../shared/reference/orbctl.md).
// They use t.Setenv, so none is parallel.

func newFake(t *testing.T, opts ...fakeorbctl.Option) (*fakeorbctl.Fake, *Driver) {
	t.Helper()
	f := fakeorbctl.New(t, opts...)
	f.Setenv(t)
	return f, New(f.Bin)
}

func TestFakeLifecycle(t *testing.T) {
	f, d := newFake(t)
	ctx := context.Background()

	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != "orbstack" || info.Version != "2.2.3" || !slices.Contains(info.Features, "limits") || !slices.Contains(info.Features, "isolated") {
		t.Errorf("Probe = %+v", info)
	}

	const name = "orbtest-f1"
	spec := backend.Spec{Distro: "debian", Version: "bookworm", User: "alice", CPUs: 2, MemoryMiB: 1024}
	if err := d.Create(ctx, name, spec); err != nil {
		t.Fatal(err)
	}
	if r, ok := f.Machine(name); !ok || !r.Config.Isolated {
		t.Errorf("machine %s: record %+v, want an isolated machine", name, r)
	}
	checkErr(t, "second create", d.Create(ctx, name, spec), backend.ErrExists, `orbctl create "orbtest-f1"`)

	m, err := d.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != name || m.State != backend.StateRunning || m.Distro != "debian" || m.Version != "bookworm" || m.User != "alice" || m.ID == "" {
		t.Errorf("Inspect = %+v", m)
	}
	ms, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != name || ms[0].ID != m.ID {
		t.Errorf("List = %+v", ms)
	}

	// Exec with env, user, dir and stdin.
	var stdout, stderr bytes.Buffer
	code, err := d.Exec(ctx, name, backend.ExecRequest{
		Argv:   []string{"sh", "-c", `printf '%s\n' "$FOO" "$USER" "$(pwd)"; cat; echo oops >&2; exit 4`},
		User:   "root",
		Dir:    "/tmp",
		Env:    []string{"FOO=bar baz"},
		Stdin:  strings.NewReader("from stdin\n"),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil || code != 4 {
		t.Fatalf("Exec = %d, %v; want 4, nil (stderr %q)", code, err, stderr.String())
	}
	lines := strings.Split(stdout.String(), "\n")
	if len(lines) != 5 || lines[0] != "bar baz" || lines[1] != "root" || !strings.HasSuffix(lines[2], "/tmp") || lines[3] != "from stdin" {
		t.Errorf("Exec stdout = %q", stdout.String())
	}
	if stderr.String() != "oops\n" {
		t.Errorf("Exec stderr = %q", stderr.String())
	}
	// Without a Dir, commands run in the user's home, never the host's cwd.
	for user, want := range map[string]string{"": "/home/alice", "root": "/root"} {
		var pwd bytes.Buffer
		if _, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"pwd"}, User: user, Stdout: &pwd}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(pwd.String()); !strings.HasSuffix(got, want) {
			t.Errorf("pwd as %q = %q, want a path ending in %s", user, got, want)
		}
	}
	if code, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"false"}}); code != 1 || err != nil {
		t.Errorf("guest false = %d, %v; want 1, nil", code, err)
	}

	// Push and pull.
	host := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(host, []byte("pushed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Push(ctx, name, host, "/tmp/in.txt"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(f.Root(name), "tmp", "in.txt")); err != nil || string(b) != "pushed" {
		t.Errorf("pushed file = %q, %v", b, err)
	}
	out := filepath.Join(t.TempDir(), "back.txt")
	if err := d.Pull(ctx, name, "/tmp/in.txt", out); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "pushed" {
		t.Errorf("pulled file = %q, %v", b, err)
	}

	// Stop, clone, start, delete.
	if err := d.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	if m, err := d.Inspect(ctx, name); err != nil || m.State != backend.StateStopped {
		t.Errorf("after Stop: %+v, %v", m, err)
	}
	if err := (CloningDriver{d}).Clone(ctx, name, "orbtest-f2"); err != nil {
		t.Fatal(err)
	}
	if m, err := d.Inspect(ctx, "orbtest-f2"); err != nil || m.State != backend.StateStopped {
		t.Errorf("clone: %+v, %v; want a stopped machine", m, err)
	}
	if err := d.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if m, err := d.Inspect(ctx, name); err != nil || m.State != backend.StateRunning {
		t.Errorf("after Start: %+v, %v", m, err)
	}
	for _, n := range []string{name, "orbtest-f2"} {
		if err := d.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Machines(); len(got) != 0 {
		t.Errorf("machines left after Delete: %q", got)
	}

	// Not found, everywhere.
	_, inspectErr := d.Inspect(ctx, name)
	code, execErr := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"true"}})
	if code != -1 {
		t.Errorf("Exec in a deleted machine: exit code %d, want -1", code)
	}
	for _, tt := range []struct {
		reason string
		err    error
	}{
		{"delete", d.Delete(ctx, name)},
		{"inspect", inspectErr},
		{"start", d.Start(ctx, name)},
		{"stop", d.Stop(ctx, name)},
		{"exec", execErr},
		{"push", d.Push(ctx, name, host, "/tmp/x")},
	} {
		checkErr(t, tt.reason+" of a deleted machine", tt.err, backend.ErrNotFound, "")
	}

	// What reached orbctl: always -m on run, never "--", delete by name.
	for _, c := range f.Calls() {
		switch {
		case slices.Contains(c.Argv, "--"):
			t.Errorf("call %q contains --", c.Argv)
		case c.Argv[0] == "run" && (len(c.Argv) < 3 || c.Argv[1] != "-m"):
			t.Errorf("run call %q without -m NAME", c.Argv)
		case c.Argv[0] == "delete" && (len(c.Argv) != 3 || c.Argv[1] != "-f" || ValidateName(c.Argv[2]) != nil):
			t.Errorf("delete call %q is not delete -f NAME", c.Argv)
		case c.Argv[0] == "stop" && len(c.Argv) != 2:
			t.Errorf("stop call %q is not stop NAME", c.Argv)
		}
	}
	if got := f.CountCalls("version"); got != 1 {
		t.Errorf("version ran %d times, want 1", got)
	}
}

func TestFakeExecEnvIsForwarded(t *testing.T) {
	_, d := newFake(t)
	ctx := context.Background()
	if err := d.Create(ctx, "orbtest-env", backend.Spec{Distro: "alpine"}); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	code, err := d.Exec(ctx, "orbtest-env", backend.ExecRequest{
		Argv:   []string{"sh", "-c", `printf '%s|%s|%s' "$A" "$B" "${ORBTEST_UNSET-unset}"`},
		Env:    []string{"A=1", "B=x:y=z"},
		Stdout: &stdout,
	})
	if err != nil || code != 0 {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if got := stdout.String(); got != "1|x:y=z|unset" {
		t.Errorf("guest env = %q, want 1|x:y=z|unset", got)
	}
}

func TestFakeOldVersions(t *testing.T) {
	ctx := context.Background()
	t.Run("2.0 has clone but no isolated machines or limits", func(t *testing.T) {
		f, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvVersion, "2.0.5"))
		info, err := d.Probe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(info.Features, []string{"cloud-init"}) {
			t.Errorf("features of 2.0.5 = %+v", info.Features)
		}
		if od, err := Open(ctx, d.path); err != nil {
			t.Fatal(err)
		} else if _, ok := od.(backend.Cloner); !ok {
			t.Error("Open on OrbStack 2.0.5 gives a driver that does not clone")
		}
		if err := d.Create(ctx, "orbtest-o1", backend.Spec{Distro: "ubuntu"}); err != nil {
			t.Fatal(err)
		}
		if r, _ := f.Machine("orbtest-o1"); r.Config.Isolated {
			t.Errorf("2.0 machine is isolated")
		}
		err = d.Create(ctx, "orbtest-o2", backend.Spec{Distro: "ubuntu", DiskMiB: 4096})
		checkErr(t, "limits on 2.0", err, backend.ErrUnsupported, "installed 2.0.5")
		if got := f.CountCalls("create"); got != 1 {
			t.Errorf("create ran %d times, want 1", got)
		}
	})
	t.Run("1.9 prints the bare info record and has no clone", func(t *testing.T) {
		f, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvVersion, "1.9.2"))
		if err := d.Create(ctx, "orbtest-o3", backend.Spec{Distro: "fedora"}); err != nil {
			t.Fatal(err)
		}
		m, err := d.Inspect(ctx, "orbtest-o3")
		if err != nil || m.Name != "orbtest-o3" || m.State != backend.StateRunning || m.IP4 != "" {
			t.Errorf("Inspect of the bare shape = %+v, %v", m, err)
		}
		checkErr(t, "clone on 1.9", (CloningDriver{d}).Clone(ctx, "orbtest-o3", "orbtest-o4"), backend.ErrUnsupported, "installed 1.9.2")
		if got := f.CountCalls("clone"); got != 0 {
			t.Errorf("clone ran %d times on 1.9", got)
		}
	})
}

func TestFakeProbeStopped(t *testing.T) {
	for _, st := range []string{"stopped", "starting"} {
		t.Run(st, func(t *testing.T) {
			f, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvStatus, st))
			_, err := d.Probe(context.Background())
			checkErr(t, "probe with OrbStack "+st, err, backend.ErrUnavailable, "orbctl")
			if f.Status() != st {
				t.Errorf("Probe changed OrbStack's state to %s", f.Status())
			}
		})
	}
}

func TestFakeErrorClasses(t *testing.T) {
	ctx := context.Background()
	t.Run("create failing on the network is transient", func(t *testing.T) {
		f, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvCreateFail, "1"))
		err := d.Create(ctx, "orbtest-e1", backend.Spec{Distro: "debian"})
		checkErr(t, "first create", err, backend.ErrTransient, "missing IP address")
		if !backend.Retryable(err) {
			t.Errorf("%v is not retryable", err)
		}
		if err := d.Create(ctx, "orbtest-e1", backend.Spec{Distro: "debian"}); err != nil {
			t.Fatalf("second create: %v", err)
		}
		if got := f.Machines(); len(got) != 1 {
			t.Errorf("machines = %q", got)
		}
	})
	t.Run("orbctl's own validation is invalid input", func(t *testing.T) {
		_, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvNativeArch, "arm64"))
		err := d.Create(ctx, "orbtest-e2", backend.Spec{Distro: "debian", Arch: "i386"})
		checkErr(t, "i386 on arm64", err, backend.ErrInvalid, "invalid architecture")
		err = d.Create(ctx, "orbtest-e3", backend.Spec{Distro: "arch", CloudInit: []byte("#cloud-config\n")})
		checkErr(t, "cloud-init on arch", err, backend.ErrInvalid, "cloud-init not supported")
	})
	t.Run("a transport failure in run is an error, not an exit code", func(t *testing.T) {
		_, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvRunFail, "1"))
		if err := d.Create(ctx, "orbtest-e4", backend.Spec{Distro: "debian"}); err != nil {
			t.Fatal(err)
		}
		code, err := d.Exec(ctx, "orbtest-e4", backend.ExecRequest{Argv: []string{"true"}})
		if code != -1 || err == nil {
			t.Errorf("Exec with a failed dial = %d, %v; want -1 and an error", code, err)
		}
		if code, err := d.Exec(ctx, "orbtest-e4", backend.ExecRequest{Argv: []string{"true"}}); code != 0 || err != nil {
			t.Errorf("Exec after the failure = %d, %v", code, err)
		}
	})
	t.Run("delete failures keep the command error", func(t *testing.T) {
		_, d := newFake(t, fakeorbctl.WithEnv(fakeorbctl.EnvDeleteFail, "1"))
		if err := d.Create(ctx, "orbtest-e5", backend.Spec{Distro: "debian"}); err != nil {
			t.Fatal(err)
		}
		err := d.Delete(ctx, "orbtest-e5")
		if err == nil || !strings.Contains(err.Error(), `orbctl delete "orbtest-e5"`) {
			t.Fatalf("Delete = %v", err)
		}
		var ce *cmdrun.CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 1 {
			t.Errorf("%v has no wrapped command error", err)
		}
		if err := d.Delete(ctx, "orbtest-e5"); err != nil {
			t.Errorf("second Delete: %v", err)
		}
	})
}
