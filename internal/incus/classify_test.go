package incus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// captured is one line of testdata/stderr.tsv.
type captured struct{ class, command, stderr string }

func readCaptured(t *testing.T) []captured {
	t.Helper()
	f, err := os.Open("testdata/stderr.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []captured
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		require.Len(t, f, 3, "bad testdata line %q", line)
		out = append(out, captured{f[0], f[1], strings.ReplaceAll(f[2], `\n`, "\n")})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

var classes = map[string]error{
	"notfound":    backend.ErrNotFound,
	"exists":      backend.ErrExists,
	"invalid":     backend.ErrInvalid,
	"unavailable": backend.ErrUnavailable,
	"transient":   backend.ErrTransient,
}

func TestClassifyCaptured(t *testing.T) {
	for _, c := range readCaptured(t) {
		t.Run(c.command, func(t *testing.T) {
			switch c.class {
			case "already":
				err := &cmdrun.CommandError{ExitCode: 1, Stderr: c.stderr}
				assert.True(t, alreadyIn(err, "running") || alreadyIn(err, "stopped"), "Start/Stop treat it as done")
			case "mac":
				dev, ok := takenMAC(c.stderr)
				assert.True(t, ok && dev == "eth0", "Start has Incus pick a new MAC address for eth0")
				assert.Nil(t, Classify(c.stderr), "no class: Start handles it")
			case "guest":
				_, ok := incusError(c.stderr)
				assert.True(t, ok, "looks like incus's own error, so Exec must confirm with Inspect")
			default:
				want, ok := classes[c.class]
				require.True(t, ok, "unknown class %q", c.class)
				assert.Equal(t, want, Classify(c.stderr), "stderr %q", c.stderr)
			}
		})
	}
}

func TestClassifyRules(t *testing.T) {
	cases := []struct {
		reason string
		stderr string
		want   error
	}{
		{"empty stderr", "", nil},
		{"unknown message", "Error: something new", nil},
		{"socket permission", `Error: Get "http://unix.socket/1.0": dial unix /var/lib/incus/unix.socket: connect: permission denied`, backend.ErrUnavailable},
		{"remote refused", `Error: Get "https://10.0.0.1:8443/1.0": dial tcp 10.0.0.1:8443: connect: connection refused`, backend.ErrUnavailable},
		{"invalid name", `Error: Invalid instance name: Name can only contain alphanumeric and hyphen characters`, backend.ErrInvalid},
		{"timeout", `Error: Failed to fetch instance: context deadline exceeded`, backend.ErrTransient},
		{"the last Error line decides", "Error: Instance not found\nError: The instance is already running", backend.ErrInvalid},
		{"hint line after the error", "Error: Instance not found\nTry `incus info --show-log x` for more info", backend.ErrNotFound},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Classify(tc.stderr), tc.reason)
	}
}

func TestIncusError(t *testing.T) {
	cases := []struct {
		reason string
		stderr string
		msg    string
		ok     bool
	}{
		{"plain", "Error: Instance is not running\n", "Instance is not running", true},
		{"with hint", "Error: The instance is already stopped\nTry `incus info --show-log a` for more info\n", "The instance is already stopped", true},
		{"guest output before", "warning: x\nError: Command not found", "Command not found", true},
		{"guest output after", "Error: x\nmore guest output", "", false},
		{"no error", "ls: cannot access", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range cases {
		msg, ok := incusError(tc.stderr)
		assert.Equal(t, tc.ok, ok, tc.reason)
		assert.Equal(t, tc.msg, msg, tc.reason)
	}
}

func TestTakenMAC(t *testing.T) {
	cases := []struct {
		reason, stderr, device string
	}{
		{"with the hint line", "Error: Failed start validation for device \"eth0\": MAC address \"10:66:6a:6b:cd:56\" already defined on another NIC\nTry `incus info --show-log a` for more info\n", "eth0"},
		{"another device", `Error: Failed start validation for device "lan-1": MAC address "10:66:6a:00:00:01" already defined on another NIC`, "lan-1"},
		{"a taken IP address is no MAC to pick again", `Error: Failed start validation for device "eth0": IP address "10.0.0.5" already defined on another NIC`, ""},
		{"another start validation failure", `Error: Failed start validation for device "eth0": Parent device "br0" doesn't exist`, ""},
		{"not the last error line", "Error: Failed start validation for device \"eth0\": MAC address \"10:66:6a:6b:cd:56\" already defined on another NIC\nError: Instance not found", ""},
		{"guest output that only contains it", `echo Error: Failed start validation for device "eth0": MAC address "x" already defined on another NIC`, ""},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		dev, ok := takenMAC(tc.stderr)
		assert.Equal(t, tc.device != "", ok, tc.reason)
		assert.Equal(t, tc.device, dev, tc.reason)
	}
}

func TestWrap(t *testing.T) {
	ce := &cmdrun.CommandError{
		Args:     []string{"incus", "start", "orbtest-a"},
		ExitCode: 1,
		Stderr:   `Error: Failed to fetch instance "orbtest-a" in project "default": Instance not found`,
		Err:      errors.New("exit status 1"),
	}
	err := wrap("start", "orbtest-a", ce)
	require.ErrorIs(t, err, backend.ErrNotFound)
	var got *cmdrun.CommandError
	require.ErrorAs(t, err, &got, "the command error stays reachable")
	assert.Same(t, ce, got)
	assert.True(t, strings.HasPrefix(err.Error(), `incus start "orbtest-a": not found: command "incus start orbtest-a" exited 1`), err.Error())

	img := &cmdrun.CommandError{Args: []string{"incus", "init"}, ExitCode: 1, Stderr: "Creating x\nError: Image \"debian/bookworm\" not found", Err: errors.New("exit status 1")}
	err = wrap("create", "x", img)
	assert.ErrorIs(t, err, backend.ErrInvalid)
	assert.Contains(t, err.Error(), "scripts/setup-incus.sh", "a missing image names the setup script")

	noRemote := &cmdrun.CommandError{Args: []string{"incus"}, ExitCode: 1, Stderr: `Error: The remote "nosuch" doesn't exist`, Err: errors.New("exit status 1")}
	err = wrap("list", "", noRemote)
	assert.ErrorIs(t, err, backend.ErrInvalid)
	assert.NotContains(t, err.Error(), "setup-incus.sh", "a bad remote is not an image problem")

	unknown := &cmdrun.CommandError{Args: []string{"incus"}, ExitCode: 1, Stderr: "Error: brand new failure", Err: errors.New("exit status 1")}
	err = wrap("start", "x", unknown)
	assert.ErrorAs(t, err, &got)
	for _, class := range classes {
		assert.NotErrorIs(t, err, class, "unknown messages get no class")
	}

	timeout := &cmdrun.CommandError{Args: []string{"incus"}, ExitCode: -1, Stderr: "Error: Instance not found",
		Err: fmt.Errorf("%w (signal: interrupt)", context.DeadlineExceeded)}
	err = wrap("start", "x", timeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, backend.Retryable(err))
	assert.NotErrorIs(t, err, backend.ErrNotFound, "a timed-out call is not classified from stderr")

	missing := &cmdrun.CommandError{Args: []string{"/no/incus"}, ExitCode: -1, Err: &exec.Error{Name: "/no/incus", Err: exec.ErrNotFound}}
	assert.ErrorIs(t, wrap("list", "", missing), backend.ErrUnavailable, "no binary")

	plain := errors.New("boom")
	assert.Equal(t, `incus list "": boom`, wrap("list", "", plain).Error())
	assert.NoError(t, wrap("list", "", nil))
}
