package integration_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// TestAppMachine leases one machine of the app spec: a default user, a
// file copied in, ordered setup steps, and a service that readiness checks
// wait for and the host reaches.
func TestAppMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	// The server is a systemd unit a setup step enabled on the template;
	// every clone, and every reset machine, starts it when it boots.
	vm := orbtest.NewVM(t, app, orbtest.WithReady(
		orbtest.PortListening(appPort),
		orbtest.PortReachable(appPort),
	))
	want, err := os.ReadFile("testdata/greeting.txt")
	require.NoError(t, err)

	t.Run("setup and files", func(t *testing.T) {
		// The steps ran in order, as root although the default user is ci,
		// and once: on the template this machine was cloned from.
		assert.Equal(t, "step1 as root\nstep2 as root\nstep3 as root\n", vm.MustRun(t, "cat", appSetupLog))
		assert.Equal(t, string(want), vm.MustRun(t, "cat", appFile), "WithFile copied the file, creating its directory")
		assert.Equal(t, string(want), vm.MustRun(t, "cat", "/srv/www/greeting.txt"), "the setup steps saw the file")
		assert.Equal(t, "enabled\n", vm.MustRun(t, "systemctl", "is-enabled", "orbtest-http.service"))
	})

	t.Run("port reachable from the host", func(t *testing.T) {
		addr := vm.Address()
		require.NotEmpty(t, addr)
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + net.JoinHostPort(addr, strconv.Itoa(appPort)) + "/greeting.txt")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, string(want), string(body))
		assert.Equal(t, "active\n", vm.MustRun(t, "systemctl", "is-active", "orbtest-http.service"))
		// The address is the machine's own, where the backend reports an IP.
		if net.ParseIP(addr) != nil {
			assert.Contains(t, strings.Fields(vm.MustRun(t, "hostname", "-I")), addr)
		}
	})

	t.Run("spec user", func(t *testing.T) {
		assert.Equal(t, "ci\n", vm.MustRun(t, "id", "-un"))
		assert.NotEqual(t, "0\n", vm.MustRun(t, "id", "-u"))
		assert.Equal(t, "ci\n", vm.MustExec(t, orbtest.Command("id", "-un").AsUser("ci")).Stdout)
		assert.Equal(t, "root\n", vm.MustExec(t, orbtest.Command("id", "-un").AsUser("root")).Stdout)
		assert.Equal(t, "/home/ci\n", vm.MustRun(t, "pwd"), "the default directory is the user's home")
		assert.Equal(t, "/home/ci ci\n", vm.MustShell(t, `echo "$HOME" "$USER"`))
		assert.Equal(t, "/root\n", vm.MustExec(t, orbtest.Command("pwd").AsUser("root")).Stdout)
		assert.Equal(t, "/tmp\n", vm.MustExec(t, orbtest.Command("pwd").InDir("/tmp")).Stdout)
		// ci owns its home: it can write there, and not in /root.
		vm.MustShell(t, "echo mine >~/own-file && test -O ~/own-file")
		_, err := vm.Shell(t.Context(), "touch /root/orbtest-not-allowed")
		assert.NotZero(t, asExitError(t, err).ExitCode)
	})

	t.Run("spec", func(t *testing.T) {
		assert.Equal(t, app.Fingerprint(), vm.Spec().Fingerprint())
		assert.Equal(t, app.String(), vm.Spec().String())
		for _, part := range []string{"debian:bookworm", "user=ci", "files=1", "setup=3"} {
			assert.Contains(t, vm.Spec().String(), part)
		}
		assert.True(t, strings.HasPrefix(vm.Name(), namePrefix()), "name %q carries the run ID %s", vm.Name(), orbtest.RunID())
		assert.Contains(t, vm.AttachCommand(), vm.Name())
	})
}

func TestSpecLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	// Fresh: one test uses this spec, so a machine that is deleted
	// afterwards costs less than one that is reset for nobody.
	vm := orbtest.NewVM(t, limited, orbtest.Fresh())

	assert.Equal(t, "1\n", vm.MustRun(t, "nproc"), "WithCPUs(1)")

	var memKiB int
	for line := range strings.Lines(vm.MustRun(t, "cat", "/proc/meminfo")) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(t, err, "MemTotal line %q", line)
			memKiB = n
		}
	}
	// Backends differ: on Incus, lxcfs shows the limit as MemTotal; other
	// backends may show it only as the cgroup's memory.max.
	limitKiB := memKiB
	if vm.Backend() != "incus" {
		if res, err := vm.Run(t.Context(), "cat", "/sys/fs/cgroup/memory.max"); err == nil {
			if b, err := strconv.Atoi(strings.TrimSpace(res.Stdout)); err == nil {
				limitKiB = min(limitKiB, b/1024)
			}
		}
	}
	assert.Equal(t, 512*1024, limitKiB, "WithMemory(512)")

	assert.Equal(t, nativeArch()+"\n", vm.MustRun(t, "dpkg", "--print-architecture"), "WithArch")

	// The guest's df shows the whole pool on Incus (btrfs quotas are not
	// visible inside), so the disk size is read from the instance's config.
	if vm.Backend() == "incus" {
		ref := vm.Name()
		if r := os.Getenv("ORBTEST_INCUS_REMOTE"); r != "" {
			ref = r + ":" + ref
		}
		out, err := exec.CommandContext(t.Context(), cliPath("ORBTEST_INCUS", "incus"), "config", "device", "get", ref, "root", "size").Output()
		require.NoError(t, err)
		assert.Equal(t, "2048MiB", strings.TrimSpace(string(out)), "WithDisk(2048)")
	}
	for _, part := range []string{"/" + nativeArch(), "cpus=1", "memory=512MiB", "disk=2048MiB"} {
		assert.Contains(t, vm.Spec().String(), part)
	}
}

// TestPoolReuse is not parallel: it runs before every parallel test of the
// package, so none of them can lease or evict its machine between the
// subtests. Tests of other packages in the run could evict it once the
// run reaches ORBTEST_MAX_VMS; scripts/test.sh gives the run room enough.
func TestPoolReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	const dirty = `set -e
echo dirty >/root/orbtest-dirty
echo changed >>/etc/orbtest-reuse
useradd orbtest-tmpuser
nohup sleep 7777 >/dev/null 2>&1 &
`
	// procs counts processes whose command line is "sleep 7777".
	const procs = `for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null; echo; done | grep -c '^sleep 7777 $' || true`

	var first *orbtest.VM
	t.Run("first", func(t *testing.T) {
		first = orbtest.NewVM(t, reuse)
		assert.Equal(t, "reuse-spec\n", first.MustRun(t, "cat", "/etc/orbtest-reuse"))
		first.MustExec(t, orbtest.ShellCommand(dirty).AsUser("root"))
		assert.Equal(t, "1\n", first.MustShell(t, procs))
	})
	require.NotNil(t, first)

	t.Run("second gets the same machine, reset", func(t *testing.T) {
		vm := orbtest.NewVM(t, reuse, orbtest.WithKeep(orbtest.KeepNever))
		require.Equal(t, first.Name(), vm.Name(), "the pool reuses the machine")
		assert.Equal(t, "reuse-spec\n", vm.MustRun(t, "cat", "/etc/orbtest-reuse"), "setup ran once; the change is gone")
		_, err := vm.Run(t.Context(), "test", "-e", "/root/orbtest-dirty")
		assert.Equal(t, 1, asExitError(t, err).ExitCode, "the file the first test wrote is gone")
		_, err = vm.Run(t.Context(), "id", "orbtest-tmpuser")
		assert.Error(t, err, "the user the first test added is gone")
		assert.Equal(t, "0\n", vm.MustShell(t, procs), "processes of the first test are gone")
	})

	var kept *orbtest.VM
	t.Run("KeepAlways", func(t *testing.T) {
		kept = orbtest.NewVM(t, reuse, orbtest.WithKeep(orbtest.KeepAlways))
		assert.Equal(t, first.Name(), kept.Name(), "the idle pool machine")
		kept.MustExec(t, orbtest.ShellCommand("echo kept >/root/orbtest-kept").AsUser("root"))
	})
	require.NotNil(t, kept)
	t.Run("kept machine outlives its test", func(t *testing.T) {
		assert.Equal(t, "kept\n", kept.MustExec(t, orbtest.Command("cat", "/root/orbtest-kept").AsUser("root")).Stdout, "kept as the test left it, not reset")
		require.NoError(t, kept.Delete(t.Context()))
		require.NoError(t, kept.Delete(t.Context()), "Delete is idempotent")
		_, err := kept.Run(t.Context(), "true")
		assert.Error(t, err)
		assert.False(t, machineExists(t, kept.Backend(), kept.Name()))
	})

	var fresh *orbtest.VM
	t.Run("Fresh", func(t *testing.T) {
		// KeepFailed keeps only the machine of a failed test: this one passes.
		fresh = orbtest.NewVM(t, reuse, orbtest.Fresh(), orbtest.WithKeep(orbtest.KeepFailed))
		assert.NotEqual(t, first.Name(), fresh.Name(), "a Fresh machine is never a pool machine")
		assert.True(t, strings.HasPrefix(fresh.Name(), namePrefix()))
		assert.Equal(t, "reuse-spec\n", fresh.MustRun(t, "cat", "/etc/orbtest-reuse"), "cloned from the spec's template")
	})
	require.NotNil(t, fresh)
	t.Run("Fresh machine is deleted", func(t *testing.T) {
		_, err := fresh.Run(t.Context(), "true")
		require.Error(t, err)
		var xe *orbtest.ExitError
		assert.False(t, errors.As(err, &xe), "the machine is gone, nothing ran: %v", err)
		assert.False(t, machineExists(t, fresh.Backend(), fresh.Name()))
		assert.NoError(t, fresh.Delete(t.Context()), "deleting a deleted machine is not an error")
	})
}

func TestShared(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	marker := "/tmp/orbtest-shared-" + orbtest.RunID()
	var name string
	t.Run("first", func(t *testing.T) {
		vm := orbtest.NewVM(t, base, orbtest.Shared())
		name = vm.Name()
		vm.MustRun(t, "touch", marker)
	})
	t.Run("second sees the same machine, not reset", func(t *testing.T) {
		vm := orbtest.NewVM(t, base, orbtest.Shared())
		assert.Equal(t, name, vm.Name())
		vm.MustRun(t, "test", "-e", marker)
	})
	t.Run("a pool machine is another", func(t *testing.T) {
		vm := orbtest.NewVM(t, base)
		assert.NotEqual(t, name, vm.Name())
		_, err := vm.Run(t.Context(), "test", "-e", marker)
		assert.Equal(t, 1, asExitError(t, err).ExitCode)
	})
}

func TestStartVM(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	shared := orbtest.NewVM(t, base, orbtest.Shared()) // skips without a backend

	var logs logLines
	vm, err := orbtest.StartVM(t.Context(), base,
		orbtest.WithBackend(shared.Backend()),
		orbtest.WithLogf(logs.logf),
		orbtest.WithCreateTimeout(3*time.Minute),
		orbtest.WithReadyTimeout(2*time.Minute),
		orbtest.WithReady(orbtest.FileExists("/etc/hostname")))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, vm.Delete(context.WithoutCancel(t.Context()))) })

	assert.Equal(t, shared.Backend(), vm.Backend())
	assert.True(t, strings.HasPrefix(vm.Name(), namePrefix()), "name %q", vm.Name())
	assert.NotEqual(t, shared.Name(), vm.Name(), "StartVM does not use the pool")
	assert.Equal(t, vm.Name(), logs.machine(), "log:\n%s", &logs)
	assert.Contains(t, logs.String(), "machine "+vm.Name()+" ready after")
	assert.NotEmpty(t, vm.Address())
	assert.Equal(t, base.Fingerprint(), vm.Spec().Fingerprint())
	assert.Contains(t, vm.AttachCommand(), vm.Name())
	assert.Equal(t, "ok\n", vm.MustRun(t, "echo", "ok"))
	assert.True(t, machineExists(t, vm.Backend(), vm.Name()))

	require.NoError(t, vm.Delete(t.Context()))
	assert.False(t, machineExists(t, vm.Backend(), vm.Name()))
	require.NoError(t, vm.Delete(t.Context()), "Delete is idempotent")
	res, err := vm.Run(t.Context(), "true")
	require.Error(t, err, "a deleted machine runs nothing")
	assert.Nil(t, res)
}

func TestOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()

	t.Run("later options override earlier ones", func(t *testing.T) {
		// With the first timeout the Running check could never pass.
		vm := orbtest.NewVM(t, base, orbtest.Shared(),
			orbtest.Options(orbtest.WithReadyTimeout(time.Nanosecond), nil, orbtest.WithReady(orbtest.Running())),
			orbtest.WithReadyTimeout(2*time.Minute))
		vm.MustRun(t, "true")
	})

	t.Run("bad options are all reported before anything runs", func(t *testing.T) {
		start := time.Now()
		vm, err := orbtest.StartVM(t.Context(),
			orbtest.Distro("nosuch", "").WithUser("Bad User").WithArch("sparc").WithMemory(10).
				WithSetup("  ").WithFile("testdata/greeting.txt", "relative/path").WithFile("testdata/missing.txt", "/x"),
			orbtest.WithReadyTimeout(0), orbtest.WithCreateTimeout(-time.Second),
			orbtest.WithKeep("sometimes"), orbtest.WithBackend("bogus"))
		require.Error(t, err)
		assert.Nil(t, vm)
		for _, want := range []string{
			`unknown distro "nosuch"`, "has no version", `bad user name "Bad User"`, `unknown arch "sparc"`,
			"memory 10 MiB is too small", "setup step 1 is empty", `guest path "relative/path" is not absolute`,
			"testdata/missing.txt", "WithReadyTimeout(0s)", "WithCreateTimeout(-1s)", `bad keep policy "sometimes"`,
			`bad backend "bogus"`,
		} {
			assert.Contains(t, err.Error(), want)
		}
		assert.NotErrorIs(t, err, orbtest.ErrUnavailable)
		assert.Less(t, time.Since(start), 2*time.Second)

		_, err = orbtest.StartVM(t.Context())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no spec")
		assert.Error(t, orbtest.Spec{}.Validate(), "the zero Spec is invalid")
		assert.NoError(t, app.Validate())
	})

	t.Run("backend selection", func(t *testing.T) {
		vm := orbtest.NewVM(t, base, orbtest.Shared())
		assert.Contains(t, []string{"incus", "orbstack"}, vm.Backend())
		require.NoError(t, orbtest.Available(t.Context()))
		orbtest.SkipIfUnavailable(t) // must not skip: a backend is available

		// The other backend is unavailable where its CLI is not installed.
		other, cli, env := "orbstack", "orbctl", "ORBTEST_ORBCTL"
		if vm.Backend() == "orbstack" {
			other, cli, env = "incus", "incus", "ORBTEST_INCUS"
		}
		if _, err := exec.LookPath(cli); err != nil && os.Getenv(env) == "" {
			_, err := orbtest.StartVM(t.Context(), base, orbtest.WithBackend(other))
			require.Error(t, err)
			assert.ErrorIs(t, err, orbtest.ErrUnavailable)
		} else {
			t.Logf("%s is installed too: not checking that it is unavailable", other)
		}
	})

	t.Run("host access", func(t *testing.T) {
		backend := orbtest.NewVM(t, base, orbtest.Shared()).Backend()
		// Backends differ: Incus machines are always isolated, so host access
		// is unsupported; OrbStack mounts the Mac's files.
		if backend == "incus" {
			vm, err := orbtest.StartVM(t.Context(), base.WithHostAccess())
			require.Error(t, err)
			assert.Nil(t, vm)
			assert.Contains(t, err.Error(), "host access")
			return
		}
		vm := orbtest.NewVM(t, base.WithHostAccess(), orbtest.Fresh())
		vm.MustRun(t, "test", "-d", "/mnt/mac")
	})
}
