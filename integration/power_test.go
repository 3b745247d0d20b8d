package integration_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const bootIDFile = "/proc/sys/kernel/random/boot_id"

func TestServiceSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, app, orbtest.WithReady(orbtest.PortListening(appPort)))
	before := vm.MustRun(t, "cat", bootIDFile)
	vm.MustExec(t, orbtest.ShellCommand("echo kept >/var/lib/orbtest-restart-marker").AsUser("root"))

	require.NoError(t, vm.Restart(t.Context()))
	assert.NotEqual(t, before, vm.MustRun(t, "cat", bootIDFile), "Restart returned on the old boot")
	// Restart waited for WithReady: the enabled service listens again.
	assert.Equal(t, "active", strings.TrimSpace(vm.MustRun(t, "systemctl", "is-active", "orbtest-http.service")))
	assert.Equal(t, "kept\n", vm.MustRun(t, "cat", "/var/lib/orbtest-restart-marker"))
	assert.NotEmpty(t, vm.Address())
}

func TestStopThenStart(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base)
	before := vm.MustRun(t, "cat", bootIDFile)

	require.NoError(t, vm.Stop(t.Context()))
	_, err := vm.Run(t.Context(), "true")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "machine is stopped")

	require.NoError(t, vm.Start(t.Context()))
	assert.NotEqual(t, before, vm.MustRun(t, "cat", bootIDFile), "Start returned on the old boot")
	assert.Equal(t, "running", strings.TrimSpace(vm.MustShell(t, "systemctl is-system-running --wait || true")))
}
