package integration_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const peerPort = 8000

// servePeer starts an HTTP server in vm, as a transient systemd unit, that
// answers /name with the machine's name.
func servePeer(t *testing.T, vm *orbtest.VM) {
	t.Helper()
	vm.MustExec(t, orbtest.ShellCommand(fmt.Sprintf(
		`mkdir -p /srv/peer && echo %s >/srv/peer/name && systemd-run --unit=orbtest-peer python3 -m http.server %d --directory /srv/peer`,
		vm.Name(), peerPort)).AsUser("root"))
	vm.MustWaitFor(t, 30*time.Second, orbtest.PortListening(peerPort))
}

// fetchName asks the server at host from inside vm for its name.
func fetchName(t *testing.T, vm *orbtest.VM, host string) (string, error) {
	t.Helper()
	res, err := vm.Exec(t.Context(), orbtest.Command("python3", "-c",
		`import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())`,
		fmt.Sprintf("http://%s:%d/name", host, peerPort)))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Stdout), nil
}

func TestMachinesReachEachOtherByHostname(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vms := orbtest.NewVMs(t, 3, base)
	require.Len(t, vms, 3)
	for _, vm := range vms {
		require.True(t, strings.HasPrefix(vm.Hostname(), vm.Name()+"."), "Hostname %q", vm.Hostname())
		servePeer(t, vm)
	}
	for _, from := range vms {
		for _, to := range vms {
			if from == to {
				continue
			}
			got, err := fetchName(t, from, to.Hostname())
			if assert.NoError(t, err, "%s to %s", from.Name(), to.Hostname()) {
				assert.Equal(t, to.Name(), got)
			}
		}
	}
}

func TestParallelTwoMachineTestsAtTheCap(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	t.Run("group", func(t *testing.T) {
		for i := range 5 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				vms := orbtest.NewVMs(t, 2, base)
				require.Len(t, vms, 2)
				assert.NotEqual(t, vms[0].Name(), vms[1].Name())
				for _, vm := range vms {
					vm.MustRun(t, "true")
				}
			})
		}
	})
}

func TestNewVMsOverTheCapFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	msg := fatalOf(t, func(tb testing.TB) { orbtest.NewVMs(tb, 1000, base) })
	assert.Contains(t, msg, "1000 machines of debian:bookworm can never be leased at once: ORBTEST_MAX_VMS=")
	assert.Contains(t, msg, "raise ORBTEST_MAX_VMS to 1000 or more")
}
