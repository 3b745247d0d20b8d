package installer_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// debian is a plain machine: the installer under test must bring
// everything else itself. Every test of this package (and of any other
// package that asks for the same spec) shares its template, so after the
// first machine each one is a copy-on-write clone that boots in seconds.
var debian = orbtest.Debian("bookworm")

// script is where the tests put the installer in the machine.
const script = "/tmp/install.sh"

// install copies the installer into vm and runs it as root with the
// environment env (KEY=VALUE pairs). It returns the result and error of the
// run, so that tests can check failures as well as successes.
func install(t *testing.T, vm *orbtest.VM, args []string, env ...string) (*orbtest.Result, error) {
	t.Helper()
	vm.MustPush(t, "testdata/install.sh", script)
	cmd := orbtest.Command("sh", append([]string{script}, args...)...).AsUser("root").WithEnv(env...)
	return vm.Exec(t.Context(), cmd)
}

// mustInstall is install for runs that must succeed; it returns stdout.
func mustInstall(t *testing.T, vm *orbtest.VM, args []string, env ...string) string {
	t.Helper()
	res, err := install(t, vm, args, env...)
	require.NoError(t, err, "install.sh %v", args)
	return res.Stdout
}

// get fetches http://ADDRESS:port/ from the host, as a client of the
// service would, and returns the body.
func get(t *testing.T, vm *orbtest.VM, port int) string {
	t.Helper()
	body, err := tryGet(t.Context(), vm, port)
	require.NoError(t, err)
	return body
}

// tryGet is get for polling: it returns an error instead of failing the
// test.
func tryGet(ctx context.Context, vm *orbtest.VM, port int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(vm.Address(), strconv.Itoa(port))+"/", nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", resp.Request.URL, resp.Status, body)
	}
	return string(body), err
}

// unitProperty returns one property of greeter.service, as systemctl show
// reports it.
func unitProperty(t *testing.T, vm *orbtest.VM, name string) string {
	t.Helper()
	return strings.TrimSpace(vm.MustRun(t, "systemctl", "show", "--value", "-p", name, "greeter.service"))
}

// TestInstallLifecycle walks one machine through what a user does with the
// installer: get the configuration wrong, install, install again,
// reconfigure, uninstall. The steps depend on each other, so they are
// sequential subtests of one machine. It leases a pool machine (the
// default): it changes the machine, and the pool resets it to its clean
// snapshot after the test for the next one.
func TestInstallLifecycle(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, debian)

	t.Run("bad input is rejected", func(t *testing.T) {
		// Bad configuration fails early, with exit status 2 and a message
		// on stderr, and leaves the machine untouched, which the next case
		// and the install after them rely on.
		for _, tc := range []struct {
			name    string
			args    []string
			env     []string
			wantErr string
		}{
			{"port not a number", nil, []string{"GREETER_PORT=http"}, "GREETER_PORT=http is not a port number"},
			{"port out of range", nil, []string{"GREETER_PORT=70000"}, "out of range"},
			{"unknown argument", []string{"--force"}, nil, "unknown argument --force"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := install(t, vm, tc.args, tc.env...)
				var exit *orbtest.ExitError
				require.ErrorAs(t, err, &exit, "install.sh must fail, not fail to run")
				assert.Equal(t, 2, res.ExitCode)
				assert.Contains(t, res.Stderr, tc.wantErr)
				assert.Empty(t, res.Stdout)

				_, err = vm.Run(t.Context(), "id", "greeter")
				assert.Error(t, err, "a rejected install must not create the user")
				_, err = vm.Run(t.Context(), "test", "-e", "/etc/systemd/system/greeter.service")
				assert.Error(t, err, "a rejected install must not write the unit")
			})
		}
	})

	t.Run("install", func(t *testing.T) {
		out := mustInstall(t, vm, nil, "GREETER_GREETING=hello from orbtest")
		assert.Contains(t, out, "created user greeter")
		assert.Contains(t, out, "installed; listening on port 8080")

		// The unit is running and starts at boot.
		assert.Equal(t, "active", strings.TrimSpace(vm.MustRun(t, "systemctl", "is-active", "greeter")))
		assert.Equal(t, "enabled", strings.TrimSpace(vm.MustRun(t, "systemctl", "is-enabled", "greeter")))

		// The unit file says what the installer promised: a system user,
		// never root, and configuration from the environment file.
		unit := vm.MustRun(t, "cat", "/etc/systemd/system/greeter.service")
		assert.Contains(t, unit, "User=greeter\n")
		assert.Contains(t, unit, "EnvironmentFile=/etc/greeter/greeter.env\n")
		assert.Equal(t, "greeter", unitProperty(t, vm, "User"))
		owner := vm.MustShell(t, "ps -o user= -p \"$(systemctl show --value -p MainPID greeter)\"")
		assert.Equal(t, "greeter", strings.TrimSpace(owner), "the service process must not run as root")

		// The service answers the host on its port.
		assert.Equal(t, "hello from orbtest\n", get(t, vm, 8080))
	})

	t.Run("reinstall changes nothing", func(t *testing.T) {
		pid := unitProperty(t, vm, "MainPID")
		unitBefore := vm.MustRun(t, "sha256sum", "/etc/systemd/system/greeter.service")

		out := mustInstall(t, vm, nil, "GREETER_GREETING=hello from orbtest")
		assert.Contains(t, out, "already up to date")
		assert.NotContains(t, out, "created user")

		assert.Equal(t, pid, unitProperty(t, vm, "MainPID"), "an unchanged reinstall must not restart the service")
		assert.Equal(t, unitBefore, vm.MustRun(t, "sha256sum", "/etc/systemd/system/greeter.service"))
		users := vm.MustShell(t, "grep -c '^greeter:' /etc/passwd")
		assert.Equal(t, "1", strings.TrimSpace(users))
	})

	t.Run("reconfigure restarts on the new port", func(t *testing.T) {
		pid := unitProperty(t, vm, "MainPID")

		out := mustInstall(t, vm, nil, "GREETER_PORT=9090", "GREETER_GREETING=moved")
		assert.Contains(t, out, "listening on port 9090")

		assert.NotEqual(t, pid, unitProperty(t, vm, "MainPID"), "a new configuration must restart the service")
		assert.Equal(t, "moved\n", get(t, vm, 9090))
		listeners := vm.MustRun(t, "ss", "-Hltn", "sport = :8080")
		assert.Empty(t, strings.TrimSpace(listeners), "nothing may listen on the old port")
	})

	t.Run("uninstall", func(t *testing.T) {
		out := mustInstall(t, vm, []string{"--uninstall"})
		assert.Contains(t, out, "uninstalled")

		for _, path := range []string{"/etc/systemd/system/greeter.service", "/usr/local/bin/greeter", "/etc/greeter"} {
			_, err := vm.Run(t.Context(), "test", "-e", path)
			assert.Error(t, err, "%s must be gone", path)
		}
		_, err := vm.Run(t.Context(), "id", "greeter")
		assert.Error(t, err, "user greeter must be gone")
		// is-active exits non-zero for a unit that is not active.
		_, err = vm.Run(t.Context(), "systemctl", "is-active", "--quiet", "greeter")
		assert.Error(t, err, "greeter.service must not be active")

		// Uninstalling what is not installed is not an error.
		mustInstall(t, vm, []string{"--uninstall"})
	})
}

// TestServiceSurvivesReboot installs the service and reboots the machine:
// an enabled unit must come back by itself. A reboot disturbs the running
// machine, not only its files, which is more than a test should count on a
// reset to repair; so this test asks for a Fresh machine, which no other
// test has used or will use, and which is deleted when the test ends.
func TestServiceSurvivesReboot(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, debian, orbtest.Fresh())
	mustInstall(t, vm, nil, "GREETER_GREETING=still here")

	// /run is emptied at boot: the marker tells the old boot from the new.
	vm.MustExec(t, orbtest.Command("touch", "/run/before-reboot").AsUser("root"))
	// The reboot ends the command's session, so its error says nothing.
	_, _ = vm.Exec(t.Context(), orbtest.Command("systemctl", "reboot").AsUser("root"))

	// Commands fail while the machine restarts; poll until the new boot
	// has brought the unit up.
	require.Eventually(t, func() bool {
		res, err := vm.Shell(t.Context(), "test ! -e /run/before-reboot && systemctl is-active greeter")
		return err == nil && strings.TrimSpace(res.Stdout) == "active"
	}, time.Minute, 250*time.Millisecond, "greeter.service did not come back after the reboot")

	// The unit is active once its process started, a moment before the
	// process listens: retry the request briefly.
	var body string
	require.Eventually(t, func() bool {
		body, _ = tryGet(t.Context(), vm, 8080)
		return body != ""
	}, 10*time.Second, 100*time.Millisecond, "greeter does not answer after the reboot")
	assert.Equal(t, "still here\n", body)
}
