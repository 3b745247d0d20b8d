package orbtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecNeverRetriesAndReportsExit(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	before := d.Calls("exec")
	d.exec = func(_ *memMachine, argv []string) (int, string, string) { return 3, "partial", "bad thing" }
	res, err := vm.Run(t.Context(), "make", "install")
	var exit *ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "partial", res.Stdout)
	assert.Equal(t, `orbtest: machine "`+vm.Name()+`": command make install exited 3: bad thing`, err.Error())
	assert.Equal(t, before+1, d.Calls("exec"))

	_, err = vm.Exec(t.Context(), Command("-rf"))
	assert.ErrorContains(t, err, "starts with '-'")
	_, err = vm.Exec(t.Context(), Command("env").WithEnv("NOEQUALS"))
	assert.ErrorContains(t, err, "use KEY=VALUE")
	assert.Equal(t, before+1, d.Calls("exec"), "bad commands never reach the backend")
	var notRun *ExitError
	assert.False(t, errors.As(err, &notRun), "a command that never ran has no exit status: %v", err)
	assert.ErrorContains(t, err, `orbtest: machine "`+vm.Name()+`": bad environment entry`)
}

func TestDeleteRetriesTransientAndTreatsNotFoundAsDone(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	d.deleteErrs = []error{fmt.Errorf("cannot transition from creating to deleting: %w", backend.ErrTransient)}
	require.NoError(t, vm.Delete(t.Context()))
	assert.Equal(t, 2, d.Calls("delete"))
	assert.Empty(t, d.Names())

	vm2, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	d.mu.Lock()
	delete(d.machines, vm2.Name()) // gone behind orbtest's back
	d.mu.Unlock()
	require.NoError(t, vm2.Delete(t.Context()))
}

func TestDeleteFailureSaysHowToCleanUp(t *testing.T) {
	d := newMemDriver()
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	d.deleteErrs = []error{fmt.Errorf("boom: %w", backend.ErrInvalid)}
	err = vm.Delete(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mem delete "+vm.Name())
	require.NoError(t, vm.Delete(t.Context()))
}

func TestMustRunFailsTheTestWithTheCommandsOutput(t *testing.T) {
	d := newMemDriver()
	ft := newFakeTB()
	ft.run(func(tb testing.TB) {
		vm := NewVM(tb, Debian("bookworm"), testRun(t, d))
		d.exec = func(*memMachine, []string) (int, string, string) { return 2, "", "ls: cannot access '/nope'" }
		vm.MustRun(tb, "ls", "/nope")
		tb.Errorf("unreachable")
	})
	assert.True(t, ft.Failed())
	assert.Contains(t, ft.log(), "command ls /nope exited 2: ls: cannot access '/nope'")
	assert.NotContains(t, ft.log(), "unreachable")
	require.Empty(t, d.Names())
}

func TestHostnameIsTheDrivers(t *testing.T) {
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(newMemDriver()))
	require.NoError(t, err)
	assert.Equal(t, vm.Name()+".mem", vm.Hostname())
}
