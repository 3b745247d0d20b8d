// Package integration_test runs orbtest against the real backend of the
// host: Incus system containers on Linux, OrbStack machines on macOS. It
// uses only the public API, except where a test must look at the backend
// from the outside (does a machine still exist, which remote holds it);
// there it runs the backend's own CLI.
//
// Every test skips under -short. Without a backend NewVM skips the test,
// or fails it under ORBTEST_REQUIRE=1, as CI sets it:
//
//	ORBTEST_REQUIRE=1 go test -race -count=1 -v ./integration/...
//
// The tests share a handful of specs so the pool reuses their templates
// and machines: a run builds one template per spec and resets machines
// between tests instead of creating new ones.
//
// The backends differ in places, and the tests branch on vm.Backend() there
// and say so: the default user (root on Incus, the Mac user on OrbStack),
// how a signal-killed command is reported, host access and disk limits.
package integration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// The specs of the suite. Each distinct spec costs one template per run.
var (
	// base is the plain machine most tests lease.
	base = orbtest.Debian("bookworm")

	// app has a default user, a file copied in (to a guest path with a
	// space), and setup steps that record their order and user, use the
	// file, and install a systemd service listening on appPort.
	app = base.WithUser("ci").
		WithFile("testdata/greeting.txt", appFile).
		WithSetup(appSetup...)

	// cloud is created with cloud-init user data.
	cloud = base.WithCloudInit(cloudConfig)

	// limited has resource limits and an explicit, native architecture.
	limited = base.WithArch(nativeArch()).WithCPUs(1).WithMemory(512).WithDisk(2048)

	// reuse is leased only by TestPoolReuse, so nothing else takes its
	// pool machine between that test's subtests.
	reuse = base.WithSetup("echo reuse-spec >>/etc/orbtest-reuse")
)

const (
	appPort     = 8080
	appFile     = "/opt/orbtest app/greeting.txt" // its directory does not exist in the image
	appSetupLog = "/var/log/orbtest-setup.log"
)

// appSetup runs once per run, on the template that app machines are cloned
// from. A process started in the background with & would not survive the
// template's shutdown, so the HTTP server is a systemd unit, enabled and
// started: every clone starts it when it boots.
var appSetup = []string{
	`echo "step1 as $(id -un)" >>` + appSetupLog,
	// The file is copied before the first step runs.
	`set -e
test -f "` + appFile + `"
mkdir -p /srv/www
cp "` + appFile + `" /srv/www/greeting.txt
echo "step2 as $(id -un)" >>` + appSetupLog,
	// OrbStack's images may lack python3; the local Incus image has it (and
	// no network to install anything).
	`set -e
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3; }
cat >/etc/systemd/system/orbtest-http.service <<'EOF'
[Unit]
Description=orbtest integration HTTP server
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --directory /srv/www
Restart=always

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now orbtest-http.service
echo "step3 as $(id -un)" >>` + appSetupLog,
}

const cloudInitFile = "/etc/orbtest-cloud-init.txt"

const cloudConfig = `#cloud-config
write_files:
  - path: ` + cloudInitFile + `
    content: |
      written by cloud-init ✓
runcmd:
  - [sh, -c, "echo runcmd ran > /var/lib/orbtest-runcmd.txt"]
`

// nativeArch is the host's architecture as a Spec names it.
func nativeArch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "arm64"
	case "386":
		return "i386"
	}
	return "amd64"
}

// defaultUser is the user commands run as on a machine without
// Spec.WithUser: root on Incus, the Mac user on OrbStack.
func defaultUser(t *testing.T, backend string) string {
	t.Helper()
	if backend == "orbstack" {
		u, err := user.Current()
		require.NoError(t, err)
		return strings.ToLower(u.Username)
	}
	return "root"
}

// machineExists asks the backend's own CLI whether machine name exists:
// the public API cannot tell a deleted machine from an unreachable one.
func machineExists(t *testing.T, backend, name string) bool {
	t.Helper()
	switch backend {
	case "incus":
		bin := cliPath("ORBTEST_INCUS", "incus")
		ref := "^" + name + "$"
		if r := os.Getenv("ORBTEST_INCUS_REMOTE"); r != "" {
			ref = r + ":" + ref
		}
		out, err := exec.CommandContext(t.Context(), bin, "list", ref, "-c", "n", "-f", "csv").Output()
		require.NoError(t, err, "incus list")
		for line := range strings.Lines(string(out)) {
			if strings.TrimSpace(line) == name {
				return true
			}
		}
		return false
	case "orbstack":
		bin := cliPath("ORBTEST_ORBCTL", "orbctl")
		out, err := exec.CommandContext(t.Context(), bin, "list", "-f", "json").Output()
		require.NoError(t, err, "orbctl list")
		var ms []struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal(out, &ms), "orbctl list -f json: %s", out)
		for _, m := range ms {
			if m.Name == name {
				return true
			}
		}
		return false
	}
	t.Fatalf("unknown backend %q", backend)
	return false
}

func cliPath(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	return name
}

// namePrefix is how every machine of this run is named.
func namePrefix() string { return orbtest.NamePrefix + "-" + orbtest.RunID() + "-" }

// logLines collects the lifecycle lines of WithLogf.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// machine returns the name in the "creating machine NAME" line.
func (l *logLines) machine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if rest, ok := strings.CutPrefix(line, "orbtest: creating machine "); ok {
			name, _, _ := strings.Cut(rest, " ")
			return name
		}
	}
	return ""
}
