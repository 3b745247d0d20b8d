//go:build unix

package integration_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// The remote test adds the host's own Incus daemon as a remote over HTTPS
// on loopback, in a project of its own, and runs a child test process with
// ORBTEST_INCUS_REMOTE naming it. The child must run in its own process:
// the backend driver, and with it the remote, is chosen once per process.
// The project makes the remote observable: the child's machines show in
// `incus list orbtest-loop:` and not in the local default project.
const (
	loopRemote     = "orbtest-loop" // remote, trust entry and project
	remoteChildEnv = "ORBTEST_INTEGRATION_REMOTE_CHILD"
	childMarker    = "REMOTE-CHILD-MACHINE"
	defaultHTTPS   = "127.0.0.1:8443" // what scripts/setup-incus.sh sets
)

// TestRemoteChild is the child's side of TestIncusRemote; it skips unless
// that test started it.
func TestRemoteChild(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	if os.Getenv(remoteChildEnv) == "" {
		t.Skip("run by TestIncusRemote in a child process")
	}
	remote := os.Getenv("ORBTEST_INCUS_REMOTE")
	require.NotEmpty(t, remote)
	vm := orbtest.NewVM(t, base)
	require.Equal(t, "incus", vm.Backend())
	incus := cliPath("ORBTEST_INCUS", "incus")
	list := func(args ...string) []string {
		out, err := exec.CommandContext(t.Context(), incus, append(append([]string{"list"}, args...), "-c", "n", "-f", "csv")...).Output()
		require.NoError(t, err, "incus list %v", args)
		return strings.Fields(string(out))
	}

	assert.Contains(t, list(remote+":"), vm.Name(), "incus list %s: shows the machine", remote)
	assert.NotContains(t, list("local:", "--project", "default"), vm.Name(), "the machine is in the remote's project")
	assert.Contains(t, vm.AttachCommand(), remote+":"+vm.Name())

	// Commands, files and the address work through the remote.
	assert.Equal(t, "root\n", vm.MustRun(t, "id", "-un"))
	assert.Equal(t, "in\n", vm.MustExec(t, orbtest.Command("cat").WithStdin(strings.NewReader("in\n"))).Stdout)
	host := filepath.Join(t.TempDir(), "through remote ✓.txt")
	require.NoError(t, os.WriteFile(host, []byte("via https\n"), 0o644))
	vm.MustPush(t, host, "/tmp/through remote ✓.txt")
	vm.MustPull(t, "/tmp/through remote ✓.txt", host+".back")
	back, err := os.ReadFile(host + ".back")
	require.NoError(t, err)
	assert.Equal(t, "via https\n", string(back))
	assert.NotEmpty(t, vm.Address())

	fmt.Printf("%s %s\n", childMarker, vm.Name())
}

func TestIncusRemote(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	if os.Getenv(remoteChildEnv) != "" {
		t.Skip("this is the child")
	}
	if os.Getenv("ORBTEST_INCUS_REMOTE") != "" {
		t.Skip("ORBTEST_INCUS_REMOTE is set: the whole suite already runs through a remote")
	}
	// Incus only: the test turns this very Incus daemon into a remote.
	if backend := orbtest.NewVM(t, base, orbtest.Shared()).Backend(); backend != "incus" {
		t.Skipf("skipping test: Incus only (backend is %s)", backend)
	}
	incus := cliPath("ORBTEST_INCUS", "incus")
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(context.WithoutCancel(t.Context()), incus, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), fmt.Errorf("incus %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return string(out), nil
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		require.NoError(t, err)
		return out
	}

	// The remote, its trust entry and its project are the host's: one run of
	// this test at a time.
	lockHost(t, filepath.Join(os.TempDir(), "orbtest-integration-remote.lock"))

	url := "https://" + httpsAddress(t, run, must)

	// A project of the remote's own, sharing the default project's images
	// and profiles.
	if _, err := run("project", "show", loopRemote); err != nil {
		must("project", "create", loopRemote, "-c", "features.images=false", "-c", "features.profiles=false")
	}
	t.Cleanup(func() {
		out, err := run("list", "local:", "--project", loopRemote, "-c", "n", "-f", "csv")
		if err != nil {
			t.Errorf("clean up project %s: %v", loopRemote, err)
			return
		}
		for _, name := range strings.Fields(out) {
			t.Logf("deleting leftover instance %s of project %s", name, loopRemote)
			if _, err := run("delete", "--force", "--project", loopRemote, name); err != nil {
				t.Error(err)
			}
		}
		if _, err := run("project", "delete", loopRemote); err != nil {
			t.Errorf("delete project: %v", err)
		}
	})

	// The remote: reused when an earlier run left a working one, else added
	// with a trust token. Removed, with its trust entry, at the end.
	t.Cleanup(func() {
		if _, err := run("remote", "remove", loopRemote); err != nil {
			t.Errorf("remove remote: %v", err)
		}
		removeTrust(t, run)
	})
	var remotes map[string]struct{ Addr, Project string }
	require.NoError(t, json.Unmarshal([]byte(must("remote", "list", "-f", "json")), &remotes))
	r, present := remotes[loopRemote]
	reuse := present && r.Addr == url && r.Project == loopRemote
	if reuse {
		_, err := run("list", loopRemote+":", "-c", "n", "-f", "csv")
		reuse = err == nil
	}
	if !reuse {
		if present {
			must("remote", "remove", loopRemote)
		}
		removeTrust(t, run)
		tok := strings.TrimSpace(must("config", "trust", "add", loopRemote, "-q"))
		must("remote", "add", loopRemote, url, "--token="+tok, "--accept-certificate", "--project="+loopRemote, "-q")
	}
	t.Logf("remote %s at %s (reused: %v)", loopRemote, url, reuse)

	// The child runs NewVM through the remote, in a run of its own.
	childRun := "rmt" + token(t)[:8]
	cmd := exec.CommandContext(t.Context(), os.Args[0],
		"-test.run=^TestRemoteChild$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "ORBTEST_RUN_ID" || k == "ORBTEST_RUN_OWNER" || k == "ORBTEST_BACKEND" || k == "ORBTEST_INCUS_REMOTE" || k == "ORBTEST_REAPER"
	}),
		remoteChildEnv+"=1",
		"ORBTEST_INCUS_REMOTE="+loopRemote,
		"ORBTEST_BACKEND=incus",
		"ORBTEST_REQUIRE=1",
		"ORBTEST_RUN_ID="+childRun,
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("child ran in %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	require.NoError(t, err)
	require.Contains(t, string(out), "--- PASS: TestRemoteChild", "the child test ran and passed")
	var name string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), childMarker+" "); ok {
			name = v
		}
	}
	require.True(t, strings.HasPrefix(name, orbtest.NamePrefix+"-"+childRun+"-"), "child machine %q", name)

	// Once the child has exited, its run's reaper deletes its machines
	// (template included) through the remote.
	prefix := orbtest.NamePrefix + "-" + childRun + "-"
	var left []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		left = left[:0]
		for _, n := range strings.Fields(must("list", "local:", "--project", loopRemote, "-c", "n", "-f", "csv")) {
			if strings.HasPrefix(n, prefix) {
				left = append(left, n)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	assert.Empty(t, left, "the child's reaper left machines behind")
}

// httpsAddress returns where the daemon listens for HTTPS, as host:port to
// dial: core.https_address, set to loopback for the test when unset (and
// unset again afterwards).
func httpsAddress(t *testing.T, run func(...string) (string, error), must func(...string) string) string {
	t.Helper()
	cur := strings.TrimSpace(must("config", "get", "core.https_address"))
	if cur == "" {
		must("config", "set", "core.https_address", defaultHTTPS)
		t.Cleanup(func() {
			if _, err := run("config", "unset", "core.https_address"); err != nil {
				t.Errorf("restore core.https_address: %v", err)
			}
		})
		cur = defaultHTTPS
	}
	host, port, err := net.SplitHostPort(cur)
	if err != nil {
		host, port = cur, "8443" // Incus's default port
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]", "localhost":
		host = "127.0.0.1" // a wildcard listens on loopback too
	}
	return net.JoinHostPort(host, port)
}

// removeTrust removes the trust entries and pending tokens named loopRemote.
func removeTrust(t *testing.T, run func(...string) (string, error)) {
	t.Helper()
	if out, err := run("config", "trust", "list", "-f", "json"); err == nil {
		var certs []struct{ Name, Fingerprint string }
		if err := json.Unmarshal([]byte(out), &certs); err != nil {
			t.Errorf("incus config trust list: %v", err)
		}
		for _, c := range certs {
			if c.Name == loopRemote {
				if _, err := run("config", "trust", "remove", c.Fingerprint); err != nil {
					t.Errorf("remove trust entry: %v", err)
				}
			}
		}
	}
	if out, err := run("config", "trust", "list-tokens", "-f", "json"); err == nil {
		var toks []struct {
			ClientName string `json:"client_name"`
		}
		_ = json.Unmarshal([]byte(out), &toks)
		for _, tk := range toks {
			if tk.ClientName == loopRemote {
				_, _ = run("config", "trust", "revoke-token", loopRemote)
			}
		}
	}
}

// lockHost holds an exclusive lock on path until the test ends, waiting for
// it as long as the test's context allows.
func lockHost(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	require.NoError(t, err)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			t.Fatalf("lock %s: %v", path, err)
		}
		select {
		case <-t.Context().Done():
			f.Close()
			t.Fatalf("lock %s: %v", path, t.Context().Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Cleanup(func() { f.Close() })
}
