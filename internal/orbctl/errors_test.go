package orbctl

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// classifyCases are orbctl's error texts (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §2.5, and the issues it cites) with the
// class each must map to.
var classifyCases = []struct {
	reason string
	stderr string
	want   error
}{
	{"machine not found (2.x)", "[-32098] machine not found: 'orbtest-x'\n", backend.ErrNotFound},
	{"machine not found, older text", "[-32602] no machine found: 'vm-name'\n", backend.ErrNotFound},
	{"machine not found, 2023 text", "machine not found: openeuler\n", backend.ErrNotFound},
	{"no machines at all", "[-32098] no machines found\n", backend.ErrNotFound},
	{"create: name taken", "[-32098] create 'orbtest-x': machine already exists: 'orbtest-x'\n", backend.ErrExists},
	{"create: name taken, pyinfra spelling", "[-32098] create 'vm-name' : machine already exists\n", backend.ErrExists},
	{"rename: name taken", `machine '"orbtest-x"' already exists` + "\n", backend.ErrExists},
	{"invalid name", "[-32098] create 'a_b': invalid machine name 'a_b'\n", backend.ErrInvalid},
	{"unknown distro (cobra)", "Error: invalid distro: amazon\n", backend.ErrInvalid},
	{"unknown arch", "Error: invalid architecture: x86\n", backend.ErrInvalid},
	{"unknown version", "[-32098] create 'x1': make rootfs: image not found: {ubuntu nosuch arm64 default}\n", backend.ErrInvalid},
	{"cloud-init on arch", "[-32098] create 'x1': cloud-init not supported for 'archlinux'\n", backend.ErrInvalid},
	{"unknown flag with usage", "Error: unknown flag: --cpus\nUsage:\n  orbctl create [flags] DISTRO[:VERSION] [MACHINE_NAME]\n", backend.ErrInvalid},
	{"unknown shorthand flag", "Error: unknown shorthand flag: 'z' in -z\n", backend.ErrInvalid},
	{"run rejects --", "unknown flag --\n", backend.ErrInvalid},
	{"invalid format", "Error: invalid format: yaml\n", backend.ErrInvalid},
	{"invalid flag value", "Error: invalid argument \"x\" for \"--cpus\" flag: strconv.ParseInt: parsing \"x\": invalid syntax\n", backend.ErrInvalid},
	{"subcommand missing in an old orbctl", "Error: unknown command \"clone\" for \"orbctl\"\n", backend.ErrUnsupported},
	{"VM would not start", "start VM: timed out waiting for VM to start\n", backend.ErrUnavailable},
	{"services would not start", "panic: timed out waiting for services to start\n", backend.ErrUnavailable},
	{"OrbStack down", "OrbStack is not running\n", backend.ErrUnavailable},
	{"VM crashed at start", "VM exited unexpectedly; logs: ...\n", backend.ErrUnavailable},
	{"no IP in 30s", "[-32098] create 'x1': setup: machine didn't start in 30s (missing IP address)\n", backend.ErrTransient},
	{"older network timeout", "[-32098] create 'burp': setup: timed out waiting for network\n", backend.ErrTransient},
	{"CDN 502", "[-32098] create 'x': make rootfs: download metadata: GET download status: 502 Bad Gateway\n", backend.ErrTransient},
	{"bare 502", "[-32098] create 'x': make rootfs: status 502\n", backend.ErrTransient},
	{"index is html", "[-32098] create 'x': make rootfs: fetch index: decode index: invalid character '<' looking for beginning of value\n", backend.ErrTransient},
	{"download cut", "[-32098] create 'x': make rootfs: unexpected EOF\n", backend.ErrTransient},
	{"20-minute download", "[-32098] create 'x': make rootfs: context deadline exceeded\n", backend.ErrTransient},
	{"daemon stopping", "[-32098] create 'x': machine manager is stopping\n", backend.ErrTransient},
	{"state change in progress", "[-32098] cannot transition from creating to deleting\n", backend.ErrTransient},
	{"coloured output", "\x1b[31m[-32098] machine not found: 'x1'\x1b[0m\n", backend.ErrNotFound},
	{"machine names cannot fake a class", "[-32098] create 'download-eof-502': machine crashed on startup\n", nil},
	{"not found beats words in the name", "[-32098] machine not found: 'timed-out-waiting-for-network'\n", backend.ErrNotFound},
	{"unrecognised error", "[-32098] create 'x': machine crashed on startup\n", nil},
	{"no stderr", "", nil},
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyCases {
		got := Classify(1, tt.stderr)
		if got != tt.want {
			t.Errorf("%s: Classify(1, %q) = %v, want %v", tt.reason, tt.stderr, got, tt.want)
		}
	}
	if got := Classify(0, "[-32098] machine not found: 'x'"); got != nil {
		t.Errorf("a successful command has no error class, got %v", got)
	}
}

func TestWrapErrKeepsCommandError(t *testing.T) {
	for _, tt := range classifyCases {
		ce := &cmdrun.CommandError{
			Args:     []string{"/usr/local/bin/orbctl", "create", "debian", "x1"},
			ExitCode: 1,
			Stderr:   tt.stderr,
			Err:      errors.New("exit status 1"),
		}
		err := wrapErr(`create "x1"`, ce)
		if !strings.HasPrefix(err.Error(), `orbctl create "x1": `) {
			t.Errorf("%s: message %q lacks the operation prefix", tt.reason, err)
		}
		var got *cmdrun.CommandError
		if !errors.As(err, &got) || got != ce {
			t.Errorf("%s: errors.As does not reach the *cmdrun.CommandError in %q", tt.reason, err)
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %q does not wrap %v", tt.reason, err, tt.want)
		}
		if !strings.Contains(err.Error(), "exited 1") {
			t.Errorf("%s: message %q lost the exit code", tt.reason, err)
		}
	}
}

func TestClassOfStartFailures(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   error
	}{
		{"orbctl missing", &cmdrun.CommandError{ExitCode: -1, Err: &exec.Error{Name: "orbctl", Err: exec.ErrNotFound}}, backend.ErrUnavailable},
		{"path does not exist", &cmdrun.CommandError{ExitCode: -1, Err: fmt.Errorf("fork/exec: %w", errNotExist())}, backend.ErrUnavailable},
		{"killed by a deadline is not a class", &cmdrun.CommandError{ExitCode: -1, Err: errors.New("signal: killed")}, nil},
		{"not a command error", errors.New("boom"), nil},
	}
	for _, tt := range tests {
		if got := cli.Class(tt.err, Classify); got != tt.want {
			t.Errorf("%s: cli.Class = %v, want %v", tt.reason, got, tt.want)
		}
	}
}

func errNotExist() error {
	_, err := exec.LookPath("/nonexistent/orbctl-for-test")
	return err
}

func TestOrbctlFailedRun(t *testing.T) {
	tests := []struct {
		reason   string
		exitCode int
		stderr   string
		want     bool
	}{
		{"daemon error as the last line", 1, "[-32098] machine not found: 'm1'\n", true},
		{"daemon error after guest output", 1, "guest says hi\n[-32098] machine not found: 'm1'\n", true},
		{"OrbStack cannot start", 1, "start VM: timed out waiting for VM to start\n", true},
		{"coloured daemon error", 1, "\x1b[31m[-32098] cannot transition from stopping to running\x1b[0m\n", true},
		{"guest exit 1 with ordinary stderr", 1, "grep: nothing\n", false},
		{"guest mentions not found but ends normally", 1, "machine not found: 'x'\nretrying\n", false},
		{"guest exit 2 with an orbctl-like line", 2, "[-32098] machine not found: 'm1'\n", false},
		{"guest exit 1 with no stderr", 1, "", false},
		{"success", 0, "[-32098] machine not found: 'm1'\n", false},
	}
	for _, tt := range tests {
		if got := orbctlFailedRun(tt.exitCode, tt.stderr); got != tt.want {
			t.Errorf("%s: orbctlFailedRun(%d, %q) = %v, want %v", tt.reason, tt.exitCode, tt.stderr, got, tt.want)
		}
	}
}
