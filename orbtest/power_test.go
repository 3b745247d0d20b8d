package orbtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/orbctl"
)

// bootOf reads the machine's boot id through the library, as a test would.
func bootOf(t *testing.T, vm *VM) string {
	t.Helper()
	id, err := vm.readBootID(t.Context())
	require.NoError(t, err)
	return id
}

func TestRestartWaitsForANewBootAndTheSpecsChecks(t *testing.T) {
	d := newMemDriver()
	var checked atomic.Int32
	ready := NewCheck("counted", func(context.Context, *VM) error { checked.Add(1); return nil })
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d), WithReady(ready))
	require.NoError(t, err)
	before := bootOf(t, vm)
	require.Equal(t, int32(1), checked.Load())

	require.NoError(t, vm.Restart(t.Context()))
	assert.NotEqual(t, before, bootOf(t, vm), "Restart returned on the boot before")
	assert.Equal(t, int32(2), checked.Load(), "the spec's checks ran again after the restart")
	assert.Equal(t, 1, d.Calls("restart"))
	assert.Zero(t, d.Calls("stop"), "Restart is the backend's restart, not a stop and a start")
}

// noBootDriver is a memDriver whose Restart returns without rebooting:
// the machine stays on its boot.
type noBootDriver struct{ *memDriver }

func (noBootDriver) Restart(context.Context, string) error { return nil }

func TestRestartThatKeepsTheBootFailsWithWhatItSaw(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(noBootDriver{d}))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = vm.Restart(ctx)
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, fmt.Sprintf("orbtest: machine %q: restart: not ready: on a new boot: not ready after ", vm.Name())), msg)
	assert.Contains(t, msg, "last check saw: still on the boot before (boot id boot-1)")
}

func TestRestartReportsAFailingReadyCheckAsNewVMDoes(t *testing.T) {
	d := newMemDriver()
	var restarted atomic.Bool
	ready := NewCheck("service up", func(context.Context, *VM) error {
		if restarted.Load() {
			return Permanent(errors.New("kvstore.service failed"))
		}
		return nil
	})
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d), WithReady(ready))
	require.NoError(t, err)
	restarted.Store(true)
	err = vm.Restart(t.Context())
	assert.EqualError(t, err, fmt.Sprintf("orbtest: machine %q: restart: not ready: service up: kvstore.service failed", vm.Name()))
}

func TestStopThenStart(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	before := bootOf(t, vm)

	require.NoError(t, vm.Stop(t.Context()))
	require.NoError(t, vm.Stop(t.Context()), "a second Stop does nothing")
	assert.Equal(t, 1, d.Calls("stop"))
	execs := d.Calls("exec")
	_, err = vm.Run(t.Context(), "true")
	assert.EqualError(t, err, fmt.Sprintf(`orbtest: machine %q: run true: machine is stopped (VM.Stop); VM.Start starts it`, vm.Name()))
	assert.ErrorContains(t, vm.Push(t.Context(), "power_test.go", "/tmp/x"), "machine is stopped")
	assert.ErrorContains(t, vm.Pull(t.Context(), "/tmp/x", t.TempDir()+"/x"), "machine is stopped")
	assert.Equal(t, execs, d.Calls("exec"), "a command reached a stopped machine")
	assert.ErrorContains(t, vm.Restart(t.Context()), "restart: machine is stopped")

	require.NoError(t, vm.Start(t.Context()))
	assert.NotEqual(t, before, bootOf(t, vm))
	_, err = vm.Run(t.Context(), "true")
	assert.NoError(t, err)
	assert.EqualError(t, vm.Start(t.Context()), fmt.Sprintf("orbtest: machine %q: start: machine is running; VM.Restart reboots it", vm.Name()))
}

func TestStartAfterAPoweroffFromInside(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	require.NoError(t, d.Stop(t.Context(), vm.Name())) // as systemctl poweroff would
	require.NoError(t, vm.Start(t.Context()))
	assert.Equal(t, "boot-2", bootOf(t, vm))
}

func TestSharedAndDeletedMachinesAreNotControlled(t *testing.T) {
	d := newCloningDriver()
	ft := newFakeTB()
	ft.run(func(tb testing.TB) {
		vm := NewVM(tb, Debian("bookworm"), testRun(t, d), Shared())
		for _, err := range []error{vm.Restart(t.Context()), vm.Stop(t.Context()), vm.Start(t.Context())} {
			assert.ErrorContains(t, err, "machine is Shared with other tests")
		}
	})
	require.False(t, ft.Failed(), ft.log())
	stops := d.Calls("stop") // the template's

	other, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	require.NoError(t, other.Delete(t.Context()))
	assert.ErrorContains(t, other.Restart(t.Context()), "restart: machine is deleted")
	assert.Equal(t, stops, d.Calls("stop"))
	assert.Zero(t, d.Calls("restart"))
}

func TestPoolNeverHandsOutAMachineLeftStopped(t *testing.T) {
	d := newCloningDriver()
	opts := Options(Debian("bookworm"), testRun(t, d))
	var name string
	first := newFakeTB()
	first.run(func(tb testing.TB) {
		vm := NewVM(tb, opts)
		name = vm.Name()
		assert.NoError(t, vm.Stop(t.Context()))
	})
	require.False(t, first.Failed(), first.log())
	second := newFakeTB()
	second.run(func(tb testing.TB) {
		vm := NewVM(tb, opts)
		assert.Equal(t, name, vm.Name(), "the machine was not reused")
		_, err := vm.Run(t.Context(), "true")
		assert.NoError(t, err, "the next test got the machine stopped")
	})
	require.False(t, second.Failed(), second.log())
}

func TestPowerOnTheFakeOrbctl(t *testing.T) {
	f := fakeorbctl.New(t)
	f.Setenv(t)
	d, err := orbctl.Open(t.Context(), f.Bin)
	require.NoError(t, err)
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d))
	require.NoError(t, err)
	t.Cleanup(func() { _ = vm.Delete(context.WithoutCancel(t.Context())) })
	boots := []string{bootOf(t, vm)}

	require.NoError(t, vm.Restart(t.Context()))
	boots = append(boots, bootOf(t, vm))
	require.NoError(t, vm.Stop(t.Context()))
	r, _ := f.Machine(vm.Name())
	assert.Equal(t, "stopped", r.State)
	runs := f.CountCalls("run")
	_, err = vm.Run(t.Context(), "true")
	assert.ErrorContains(t, err, "machine is stopped")
	assert.Equal(t, runs, f.CountCalls("run"), "orbctl run would have started the stopped machine")
	require.NoError(t, vm.Start(t.Context()))
	boots = append(boots, bootOf(t, vm))
	assert.Len(t, slices.Compact(slices.Clone(boots)), 3, "boot ids %q", boots)

	var power [][]string
	for _, c := range f.Calls() {
		if len(c.Argv) > 0 && slices.Contains([]string{"restart", "stop", "start"}, c.Argv[0]) {
			power = append(power, c.Argv)
		}
	}
	assert.Equal(t, [][]string{{"restart", vm.Name()}, {"stop", vm.Name()}, {"start", vm.Name()}}, power)
}

var _ backend.Driver = noBootDriver{}
