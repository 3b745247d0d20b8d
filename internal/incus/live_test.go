package incus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
)

// Live tests run against the real incus daemon. They skip when incus is
// unavailable, unless ORBTEST_REQUIRE=1, which makes that a failure.

var (
	liveOnce   sync.Once
	liveDrv    *Driver
	liveInfo   backend.Info
	liveReason string
	liveErr    error          // the probe's error when incus is there but fails otherwise
	liveRun    = randomHex(3) // names of this test process: orbtest-it-<run>-...
)

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// liveDriver returns a driver for the real daemon or skips the test.
func liveDriver(t *testing.T) *Driver {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test: live incus test in -short mode")
	}
	liveOnce.Do(func() {
		path, err := Find()
		if err != nil {
			liveReason = err.Error()
			return
		}
		d := New(path, WithRemote(os.Getenv(env.IncusRemote)))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		info, err := d.Probe(ctx)
		if err != nil {
			liveReason = err.Error()
			if !errors.Is(err, backend.ErrUnavailable) {
				liveErr = err
			}
			return
		}
		liveDrv, liveInfo = d, info
	})
	if liveErr != nil {
		t.Fatalf("incus is installed but the probe failed: %v", liveErr)
	}
	if liveDrv == nil {
		if os.Getenv("ORBTEST_REQUIRE") == "1" {
			t.Fatalf("incus unavailable and ORBTEST_REQUIRE=1: %s", liveReason)
		}
		t.Skipf("skipping test: incus unavailable: %s", liveReason)
	}
	return liveDrv
}

// liveName is a fresh container name whose deletion is registered with t.
func liveName(t *testing.T, d *Driver) string {
	t.Helper()
	name := "orbtest-it-" + liveRun + "-" + randomHex(3)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Delete(ctx, name); err != nil && !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func liveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run is Exec with captured output.
func run(t *testing.T, d *Driver, name string, req backend.ExecRequest) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	req.Stdout, req.Stderr = &o, &e
	code, err := d.Exec(liveCtx(t), name, req)
	require.NoError(t, err, "exec %q: stderr %q", req.Argv, e.String())
	return code, o.String(), e.String()
}

func debian(user string) backend.Spec {
	return backend.Spec{Distro: "debian", Version: "bookworm", User: user}
}

func TestLiveProbe(t *testing.T) {
	d := liveDriver(t)
	assert.Equal(t, "incus", liveInfo.Backend)
	assert.NotEmpty(t, liveInfo.Version)
	assert.Contains(t, liveInfo.Features, "isolated")
	var _ backend.Snapshotter = d
	t.Logf("incus %s, shell: %s", liveInfo.Version, d.ShellCommand("orbtest-x"))
}

func TestLiveNotFound(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := "orbtest-it-" + liveRun + "-absent"
	_, err := d.Inspect(ctx, name)
	assert.ErrorIs(t, err, backend.ErrNotFound, "inspect")
	assert.ErrorIs(t, d.Start(ctx, name), backend.ErrNotFound, "start")
	assert.ErrorIs(t, d.Stop(ctx, name), backend.ErrNotFound, "stop")
	assert.ErrorIs(t, d.Delete(ctx, name), backend.ErrNotFound, "delete")
	assert.ErrorIs(t, d.Snapshot(ctx, name, "s"), backend.ErrNotFound, "snapshot")
	assert.ErrorIs(t, d.Restore(ctx, name, "s"), backend.ErrNotFound, "restore")
	assert.ErrorIs(t, d.Clone(ctx, name, name+"-b"), backend.ErrNotFound, "clone")
	assert.ErrorIs(t, d.Pull(ctx, name, "/etc/hostname", filepath.Join(t.TempDir(), "x")), backend.ErrNotFound, "pull")
	code, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"true"}, User: "root"})
	assert.ErrorIs(t, err, backend.ErrNotFound, "exec")
	assert.Equal(t, -1, code)
	_, err = d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"true"}})
	assert.ErrorIs(t, err, backend.ErrNotFound, "exec as the default user")
}

func TestLiveCreateRejects(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := liveName(t, d)
	assert.ErrorIs(t, d.Create(ctx, "bad_name", debian("")), backend.ErrInvalid)
	assert.ErrorIs(t, d.Create(ctx, name, backend.Spec{Distro: "debian", HostAccess: true}), backend.ErrUnsupported)
	assert.ErrorIs(t, d.Create(ctx, name, backend.Spec{Distro: "debian", User: "Bad User"}), backend.ErrInvalid)
	assert.ErrorIs(t, d.Create(ctx, name, backend.Spec{Distro: "nodistro"}), backend.ErrInvalid, "no default version")
	d.mu.Lock()
	arm := d.arches["aarch64"]
	d.mu.Unlock()
	if !arm {
		err := d.Create(ctx, name, backend.Spec{Distro: "debian", Arch: "arm64"})
		assert.ErrorIs(t, err, backend.ErrInvalid, "the server cannot run arm64")
		t.Logf("arm64: %v", err)
	}
	_, err := d.Inspect(ctx, name)
	assert.ErrorIs(t, err, backend.ErrNotFound, "nothing was created")
}

func TestLiveMachine(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := liveName(t, d)

	start := time.Now()
	spec := debian("dev")
	spec.CPUs, spec.MemoryMiB, spec.DiskMiB = 1, 512, 2048
	require.NoError(t, d.Create(ctx, name, spec))
	t.Logf("timing: create (init+start+user) to running: %v", time.Since(start))

	t.Run("exists", func(t *testing.T) {
		err := d.Create(ctx, name, debian(""))
		assert.ErrorIs(t, err, backend.ErrExists)
		m, ierr := d.Inspect(ctx, name)
		require.NoError(t, ierr, "a failed duplicate create leaves the original alone")
		assert.Equal(t, backend.StateRunning, m.State)
	})

	t.Run("inspect", func(t *testing.T) {
		m, err := d.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, name, m.Name)
		assert.Equal(t, backend.StateRunning, m.State)
		assert.Equal(t, "debian", m.Distro)
		assert.Equal(t, "bookworm", m.Version)
		assert.Equal(t, "amd64", m.Arch)
		assert.Equal(t, "dev", m.User)
		assert.NotEmpty(t, m.ID)
		assert.WithinDuration(t, time.Now(), m.Created, 10*time.Minute)
		ms, err := d.List(ctx)
		require.NoError(t, err)
		found := false
		for _, x := range ms {
			found = found || x.Name == name
		}
		assert.True(t, found, "List includes the machine")
	})

	t.Run("ip4", func(t *testing.T) {
		start := time.Now()
		var m backend.Machine
		for time.Since(start) < 30*time.Second {
			var err error
			m, err = d.Inspect(ctx, name)
			require.NoError(t, err)
			if m.IP4 != "" {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		assert.NotEmpty(t, m.IP4, "no IPv4 after 30s: is DHCP on the bridge working?")
		t.Logf("timing: IPv4 %s after %v", m.IP4, time.Since(start))
	})

	t.Run("exec", func(t *testing.T) {
		code, out, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", `id -un; echo "$HOME $USER $LOGNAME"; pwd`}})
		assert.Equal(t, 0, code)
		assert.Equal(t, "dev\n/home/dev dev dev\n/home/dev\n", out, "default user, home as cwd")

		code, out, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", "id -un; pwd"}, User: "root", Dir: "/tmp"})
		assert.Equal(t, 0, code)
		assert.Equal(t, "root\n/tmp\n", out)

		code, out, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", `echo "$A|$B"`}, Env: []string{"A=1 2", "B=x=y"}})
		assert.Equal(t, 0, code)
		assert.Equal(t, "1 2|x=y\n", out)

		code, out, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"cat"}, Stdin: strings.NewReader("from stdin\n")})
		assert.Equal(t, 0, code)
		assert.Equal(t, "from stdin\n", out)

		code, _, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", "exit 3"}})
		assert.Equal(t, 3, code, "guest exit code, no error")

		code, out, errOut := run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", `echo out; echo "Error: Instance not found" >&2; exit 1`}})
		assert.Equal(t, 1, code, "a guest imitating incus is still the guest")
		assert.Equal(t, "out\n", out)
		assert.Contains(t, errOut, "Error: Instance not found")

		code, _, errOut = run(t, d, name, backend.ExecRequest{Argv: []string{"no-such-program"}})
		assert.Equal(t, 127, code, "a missing program is exit 127, like a shell")
		assert.Contains(t, errOut, "no-such-program: not found", "the guard's shell names the missing program")

		code, _, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"sudo", "-n", "true"}})
		assert.Equal(t, 0, code, "passwordless sudo for the default user")

		code, out, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"--version"}, User: "root"})
		assert.Equal(t, 127, code, "argv[0] '--version' is a program name, not an incus flag: %q", out)

		_, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"true"}, User: "nobody-here"})
		assert.ErrorIs(t, err, backend.ErrInvalid, "unknown user")
		_, err = d.Exec(ctx, name, backend.ExecRequest{})
		assert.ErrorIs(t, err, backend.ErrInvalid, "empty argv")

		const n = 10
		start := time.Now()
		for range n {
			code, _, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"true"}})
			require.Equal(t, 0, code)
		}
		t.Logf("timing: exec round trip (true, cached user): %v", time.Since(start)/n)
	})

	t.Run("push pull", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "-src")
		require.NoError(t, os.WriteFile(src, []byte("payload\n"), 0o640))
		require.NoError(t, d.Push(ctx, name, src, "/home/dev/payload"))
		code, out, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"stat", "-c", "%U:%G %a", "/home/dev/payload"}})
		assert.Equal(t, 0, code)
		assert.Equal(t, "dev:dev 640\n", out, "owned by the default user, host mode kept")

		dst := filepath.Join(dir, "back")
		start := time.Now()
		require.NoError(t, d.Pull(ctx, name, "/home/dev/payload", dst))
		t.Logf("timing: pull: %v", time.Since(start))
		b, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, "payload\n", string(b))

		assert.ErrorIs(t, d.Pull(ctx, name, "/no/such/file", dst), backend.ErrInvalid)
		assert.ErrorIs(t, d.Push(ctx, name, src, "/no/such/dir/f"), backend.ErrInvalid)
		assert.ErrorIs(t, d.Push(ctx, name, src, "relative"), backend.ErrInvalid)
	})

	t.Run("snapshot restore", func(t *testing.T) {
		require.NoError(t, d.Snapshot(ctx, name, "clean"))
		assert.ErrorIs(t, d.Snapshot(ctx, name, "clean"), backend.ErrExists)
		code, _, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"touch", "/home/dev/dirty"}})
		require.Equal(t, 0, code)

		start := time.Now()
		require.NoError(t, d.Restore(ctx, name, "clean"))
		t.Logf("timing: restore (running container): %v", time.Since(start))
		m, err := d.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, backend.StateRunning, m.State, "restore leaves a running machine running")
		code, _, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"test", "-e", "/home/dev/dirty"}})
		assert.Equal(t, 1, code, "the file made after the snapshot is gone")

		assert.ErrorIs(t, d.Restore(ctx, name, "nope"), backend.ErrNotFound)
	})

	t.Run("clone", func(t *testing.T) {
		dst := liveName(t, d)
		start := time.Now()
		require.NoError(t, d.Clone(ctx, name, dst))
		t.Logf("timing: copy (running source, btrfs): %v", time.Since(start))
		m, err := d.Inspect(ctx, dst)
		require.NoError(t, err)
		assert.Equal(t, backend.StateStopped, m.State)
		assert.Equal(t, "dev", m.User, "the default user travels with the config")
		assert.ErrorIs(t, d.Clone(ctx, name, dst), backend.ErrExists)

		_, err = d.Exec(ctx, dst, backend.ExecRequest{Argv: []string{"true"}})
		assert.ErrorIs(t, err, backend.ErrInvalid, "exec in a stopped machine fails at incus level")

		require.NoError(t, d.Start(ctx, dst))
		code, out, _ := run(t, d, dst, backend.ExecRequest{Argv: []string{"id", "-un"}})
		assert.Equal(t, 0, code)
		assert.Equal(t, "dev\n", out)
	})

	t.Run("stop start", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, d.Stop(ctx, name))
		t.Logf("timing: stop: %v", time.Since(start))
		require.NoError(t, d.Stop(ctx, name), "stopping a stopped machine is fine")
		m, err := d.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, backend.StateStopped, m.State)
		assert.Empty(t, m.IP4)

		require.NoError(t, d.Snapshot(ctx, name, "stopped"))
		require.NoError(t, d.Restore(ctx, name, "stopped"))
		m, err = d.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, backend.StateStopped, m.State, "restore leaves a stopped machine stopped")

		start = time.Now()
		require.NoError(t, d.Start(ctx, name))
		t.Logf("timing: start: %v", time.Since(start))
		require.NoError(t, d.Start(ctx, name), "starting a running machine is fine")
	})

	t.Run("delete", func(t *testing.T) {
		require.NoError(t, d.Delete(ctx, name))
		assert.ErrorIs(t, d.Delete(ctx, name), backend.ErrNotFound)
		_, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"true"}})
		assert.ErrorIs(t, err, backend.ErrNotFound)
	})
}

func TestLiveConcurrent(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	names := []string{liveName(t, d), liveName(t, d), liveName(t, d)}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = d.Create(ctx, name, debian("dev")); errs[i] != nil {
				return
			}
			var out bytes.Buffer
			code, err := d.Exec(ctx, name, backend.ExecRequest{Argv: []string{"id", "-un"}, Stdout: &out})
			if err == nil && (code != 0 || out.String() != "dev\n") {
				err = fmt.Errorf("exec in %s: code %d, output %q", name, code, out.String())
			}
			if err == nil {
				err = d.Delete(ctx, name)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	t.Logf("timing: 3 concurrent create+exec+delete: %v", time.Since(start))
}

// TestLiveZZNoLeftovers runs last (go test runs the files in name order and
// each file's tests in source order, so after live_boot_test.go too) and
// checks that this process left no container behind.
func TestLiveZZNoLeftovers(t *testing.T) {
	d := liveDriver(t)
	ms, err := d.List(liveCtx(t))
	require.NoError(t, err)
	for _, m := range ms {
		assert.False(t, strings.HasPrefix(m.Name, "orbtest-it-"+liveRun+"-"), "leftover container %s", m.Name)
	}
}
