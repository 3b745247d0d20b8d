package incus

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Live tests of what a machine shows of its boot: the console log, the
// default user, cloud-init. See live_test.go for the helpers.

func TestLiveConsoleLog(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := liveName(t, d)
	require.NoError(t, d.Create(ctx, name, debian("")))
	require.Eventually(t, func() bool {
		log, err := d.ConsoleLog(ctx, name)
		return err == nil && strings.Contains(log, "Debian GNU/Linux")
	}, time.Minute, 50*time.Millisecond, "systemd greets on the console")
	liveIncus(t, "stop", "--force", liveRef(t, name))
	// What a stopped container shows is the console's last boot as incus
	// kept it; how much of the boot depends on how it stopped.
	log, err := d.ConsoleLog(ctx, name)
	require.NoError(t, err)
	assert.NotEmpty(t, strings.TrimSpace(log), "a stopped container still has its console log")
	_, err = d.ConsoleLog(ctx, "orbtest-it-no-such-machine")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

func TestLiveRootDefault(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := liveName(t, d)
	require.NoError(t, d.Create(ctx, name, backend.Spec{Distro: "debian"}))
	m, err := d.Inspect(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, "root", m.User, "no spec user: root is the default user")
	code, out, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", "id -u; pwd"}})
	assert.Equal(t, 0, code)
	assert.Equal(t, "0\n/root\n", out)
}

func TestLiveCloudInit(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	name := liveName(t, d)
	spec := debian("")
	spec.CloudInit = []byte("#cloud-config\nwrite_files:\n  - path: /root/from-cloud-init\n    content: hello\n" +
		"runcmd:\n  - [sh, -c, 'echo x >>/root/provisioned']\n")
	require.NoError(t, d.Create(ctx, name, spec))
	if code, _, _ := run(t, d, name, backend.ExecRequest{Argv: []string{"sh", "-c", "command -v cloud-init"}}); code != 0 {
		t.Skip("skipping test: the image has no cloud-init")
	}
	code, out, errOut := run(t, d, name, backend.ExecRequest{Argv: []string{"cloud-init", "status", "--wait"}})
	require.Equal(t, 0, code, "cloud-init status: %s %s", out, errOut)
	code, out, _ = run(t, d, name, backend.ExecRequest{Argv: []string{"cat", "/root/from-cloud-init"}})
	assert.Equal(t, 0, code)
	assert.Equal(t, "hello", out)

	// A clone of the image scripts/setup-incus.sh builds keeps its source's
	// cloud-init instance: the user data is not run again in it.
	clone := liveName(t, d)
	require.NoError(t, d.Stop(ctx, name))
	require.NoError(t, d.Clone(ctx, name, clone))
	require.NoError(t, d.Start(ctx, clone))
	code, out, errOut = run(t, d, clone, backend.ExecRequest{Argv: []string{"cloud-init", "status", "--wait"}})
	require.Equal(t, 0, code, "cloud-init status in the clone: %s %s", out, errOut)
	_, host, _ := run(t, d, clone, backend.ExecRequest{Argv: []string{"hostname"}})
	assert.Equal(t, clone+"\n", host, "the clone has its own name")
	_, provisioned, _ := run(t, d, clone, backend.ExecRequest{Argv: []string{"cat", "/root/provisioned"}})
	if orbtestImage(t, clone) {
		assert.Equal(t, "x\n", provisioned, "user data ran again in the clone")
	} else {
		t.Logf("public image: cloud-init ran the user data %d times (once more in the clone)", strings.Count(provisioned, "x"))
	}
}

// orbtestImage reports whether machine name was made from the image
// scripts/setup-incus.sh builds.
func orbtestImage(t *testing.T, name string) bool {
	t.Helper()
	return strings.Contains(liveConfig(t, name, "get", "image.description"), "(orbtest,")
}

// A container whose MAC address another instance's NIC has, even a stopped
// instance's, is one Incus refuses to start; Start gives it a new address.
func TestLiveStartPicksNewMAC(t *testing.T) {
	d := liveDriver(t)
	ctx := liveCtx(t)
	a, b := liveName(t, d), liveName(t, d)
	require.NoError(t, d.Create(ctx, a, debian("")))
	liveIncus(t, "stop", "--force", liveRef(t, a))
	require.NoError(t, d.Clone(ctx, a, b))
	taken := liveConfig(t, a, "get", "volatile.eth0.hwaddr")
	require.NotEmpty(t, taken)
	liveConfig(t, b, "set", "volatile.eth0.hwaddr", taken)

	out, err := exec.Command(d.path, "start", liveRef(t, b)).CombinedOutput()
	require.Error(t, err, "incus itself refuses the start")
	dev, ok := takenMAC(string(out))
	require.True(t, ok, "%s", out)
	assert.Equal(t, "eth0", dev)

	require.NoError(t, d.Start(ctx, b))
	m, err := d.Inspect(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, backend.StateRunning, m.State)
	now := liveConfig(t, b, "get", "volatile.eth0.hwaddr")
	assert.NotEmpty(t, now)
	assert.NotEqual(t, taken, now, "a new address")
	assert.Equal(t, taken, liveConfig(t, a, "get", "volatile.eth0.hwaddr"), "the other instance keeps its own")

	// Restart and Restore of a running container whose address a stopped
	// one was given since: incus stops it and then refuses to start it.
	// Booted first: a container still booting may miss the clean
	// shutdown's signal, and Restart waits 20s before it forces.
	run(t, d, b, backend.ExecRequest{Argv: []string{"systemctl", "is-system-running", "--wait"}})
	snapMAC := liveConfig(t, b, "get", "volatile.eth0.hwaddr")
	require.NoError(t, d.Snapshot(ctx, b, "s"))
	liveConfig(t, a, "set", "volatile.eth0.hwaddr", snapMAC)
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"restart", func() error { return d.Restart(ctx, b) }},      // keeps snapMAC, which a now has
		{"restore", func() error { return d.Restore(ctx, b, "s") }}, // brings snapMAC back
	} {
		require.NoError(t, step.do(), step.what)
		m, err := d.Inspect(ctx, b)
		require.NoError(t, err)
		assert.Equal(t, backend.StateRunning, m.State, step.what)
		assert.NotEqual(t, snapMAC, liveConfig(t, b, "get", "volatile.eth0.hwaddr"), "%s: a new address", step.what)
	}
}

// liveConfig runs "incus config VERB NAME ARGS..." and returns its output.
func liveConfig(t *testing.T, name, verb string, args ...string) string {
	t.Helper()
	return liveIncus(t, append([]string{"config", verb, liveRef(t, name)}, args...)...)
}

// liveIncus runs incus with args and returns its output.
func liveIncus(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(liveDrv.path, args...).CombinedOutput()
	require.NoError(t, err, "incus %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// liveRef is name as incus takes it: with the remote, when there is one.
func liveRef(t *testing.T, name string) string {
	t.Helper()
	ref, err := liveDrv.b.ref(name)
	require.NoError(t, err)
	return ref
}
