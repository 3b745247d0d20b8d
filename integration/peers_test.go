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

func TestPartitionBetweenTwoOfThree(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vms := orbtest.NewVMs(t, 3, base)
	a, b, c := vms[0], vms[1], vms[2]
	for _, vm := range vms {
		servePeer(t, vm)
	}
	reaches := func(from, to *orbtest.VM) bool {
		got, err := fetchName(t, from, to.Hostname())
		return err == nil && got == to.Name()
	}

	require.NoError(t, a.Partition(t.Context(), b))
	assert.False(t, reaches(a, b), "a reaches b across the partition")
	assert.False(t, reaches(b, a), "b reaches a across the partition")
	for _, pair := range [][2]*orbtest.VM{{c, a}, {c, b}, {a, c}, {b, c}} {
		assert.True(t, reaches(pair[0], pair[1]), "%s does not reach %s: the third machine felt the partition", pair[0].Name(), pair[1].Name())
	}
	a.MustRun(t, "true") // orbtest's own commands still work

	require.NoError(t, a.Heal(t.Context()))
	assert.True(t, reaches(a, b), "healed, a still does not reach b")
	assert.True(t, reaches(b, a), "healed, b still does not reach a")
}

func TestPartitionFromEveryone(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vms := orbtest.NewVMs(t, 2, base)
	a, b := vms[0], vms[1]
	servePeer(t, a)
	servePeer(t, b)
	require.NoError(t, a.Partition(t.Context()))
	_, err := fetchName(t, a, b.Hostname())
	assert.Error(t, err, "a reaches b")
	_, err = fetchName(t, b, a.Hostname())
	assert.Error(t, err, "b reaches a")
	got, err := fetchName(t, a, "127.0.0.1")
	assert.NoError(t, err, "a does not reach itself")
	assert.Equal(t, a.Name(), got)
	require.NoError(t, a.Heal(t.Context()))
	got, err = fetchName(t, a, b.Hostname())
	assert.NoError(t, err)
	assert.Equal(t, b.Name(), got)
}
