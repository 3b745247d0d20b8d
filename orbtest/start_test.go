package orbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestStartVMReadyAndDelete(t *testing.T) {
	d := newMemDriver()
	var logs logBuf
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()), WithLogf(logs.logf))
	require.NoError(t, err)

	assert.True(t, strings.HasPrefix(vm.Name(), NamePrefix+"-"+RunID()+"-"), vm.Name())
	assert.Equal(t, []string{vm.Name()}, d.Names())
	assert.Equal(t, "127.0.0.1", vm.Address())
	assert.Contains(t, logs.String(), "creating machine "+vm.Name())
	assert.Contains(t, logs.String(), "ready after")
	assert.Contains(t, logs.String(), "shell: mem shell "+vm.Name())

	require.NoError(t, vm.Delete(t.Context()))
	require.NoError(t, vm.Delete(t.Context()), "a second Delete is a no-op")
	assert.Empty(t, d.Names())
	assert.Equal(t, 1, d.Calls("delete"))
}

func TestStartVMBadInputTouchesNothing(t *testing.T) {
	tests := []struct {
		reason string
		opts   []Option
		want   []string
	}{
		{"no spec at all", nil, []string{"no spec"}},
		{"unknown distro and no version", []Option{Distro("windows", "")}, []string{`unknown distro "windows"`}},
		{"missing version", []Option{Debian("")}, []string{`has no version: pin one`}},
		{"unpinned version", []Option{Distro("debian", "latest")}, []string{`version "latest" is not pinned`}},
		{"unpinned version in capitals", []Option{Ubuntu("Latest")}, []string{`version "Latest" is not pinned`}},
		{"every problem is reported at once",
			[]Option{Debian("bookworm").WithArch("sparc").WithUser("Bad User").WithCPUs(-1)},
			[]string{`unknown arch "sparc"`, `bad user name "Bad User"`, "negative resource limit"}},
		{"cloud-init on a distro without cloud images", []Option{Distro("arch", "current").WithCloudInit("#cloud-config\n")},
			[]string{"has no cloud-init image"}},
		{"relative guest path", []Option{Debian("12").WithFile("spec.go", "etc/x")}, []string{"is not absolute"}},
		{"missing host file", []Option{Debian("12").WithFile("no-such-file", "/etc/x")}, []string{`file "no-such-file"`}},
		{"bad keep policy", []Option{Debian("12"), WithKeep("sometimes")}, []string{`bad keep policy "sometimes"`}},
		{"bad backend", []Option{Debian("12"), WithBackend("docker")}, []string{`bad backend "docker"`}},
		{"bad timeout", []Option{Debian("12"), WithReadyTimeout(0)}, []string{"use a positive duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			d := newMemDriver()
			_, err := StartVM(t.Context(), append(tt.opts, withDriver(d.as()))...)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "orbtest: "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, d.calls, "no backend call may happen on bad input")
		})
	}
}

func TestStartVMRetriesTransientCreate(t *testing.T) {
	d := newMemDriver()
	d.createErrs = []error{
		fmt.Errorf("download: %w", backend.ErrTransient),
		fmt.Errorf("missing IP address: %w", backend.ErrTransient),
	}
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	assert.Equal(t, 3, d.Calls("create"))
}

func TestStartVMGivesUpAfterRetries(t *testing.T) {
	d := newMemDriver()
	for range lifecycleRetries + 1 {
		d.createErrs = append(d.createErrs, fmt.Errorf("flaky: %w", backend.ErrTransient))
	}
	_, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.ErrorIs(t, err, backend.ErrTransient)
	assert.Equal(t, lifecycleRetries+1, d.Calls("create"))
	assert.Empty(t, d.Names())
}

func TestStartVMPermanentCreateFailsFast(t *testing.T) {
	d := newMemDriver()
	d.createErrs = []error{fmt.Errorf("image not found: %w", backend.ErrInvalid)}
	_, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()))
	require.ErrorIs(t, err, backend.ErrInvalid)
	assert.Regexp(t, `^orbtest: machine "orbtest-[^"]+": create: image not found: invalid input$`, err.Error())
	assert.Equal(t, 1, d.Calls("create"))
	assert.Empty(t, d.Names())
}

func TestStartVMAdoptsMachineOfHungCreate(t *testing.T) {
	d := newMemDriver()
	d.createHang = 1
	var logs logBuf
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()),
		WithCreateTimeout(50*time.Millisecond), WithLogf(logs.logf))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	assert.Equal(t, 2, d.Calls("create"))
	assert.Equal(t, []string{vm.Name()}, d.Names())
	assert.Contains(t, logs.String(), "adopting it")
}

func TestStartVMReadinessTimeoutSaysWhatItSaw(t *testing.T) {
	d := newMemDriver()
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		return 7, "", "guest agent not up"
	}
	start := time.Now()
	_, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()), WithCreateTimeout(300*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	msg := err.Error()
	assert.Contains(t, msg, "not ready")
	assert.Contains(t, msg, "command true succeeds")
	assert.Contains(t, msg, "last check saw")
	assert.Contains(t, msg, "exited 7: guest agent not up")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Empty(t, d.Names(), "a machine that never got ready is deleted")
}

func TestStartVMStopsWaitingWhenMachineDies(t *testing.T) {
	d := newMemDriver()
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		m.state = backend.StateStopped // the machine dies under the wait
		return 255, "", "connection reset"
	}
	start := time.Now()
	_, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()), WithReadyTimeout(time.Minute))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "machine is stopped")
	assert.Less(t, time.Since(start), 10*time.Second, "a dead machine must not be waited for until the timeout")
	assert.Empty(t, d.Names())
}

// consoleDriver is a memDriver that keeps a console log, as Incus does.
type consoleDriver struct {
	*memDriver
	log string
}

func (d consoleDriver) ConsoleLog(context.Context, string) (string, error) { return d.log, nil }

func TestStoppedMachineErrorQuotesTheConsoleLog(t *testing.T) {
	d := newMemDriver()
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		m.state = backend.StateStopped
		return 255, "", "connection reset"
	}
	var log strings.Builder
	for i := range 20 {
		fmt.Fprintf(&log, "boot line %d\n\n", i)
	}
	log.WriteString("Failed to allocate manager object: Too many open files\nExiting PID 1...\n")
	_, err := StartVM(t.Context(), Debian("bookworm"), withDriver(consoleDriver{d, log.String()}))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "machine is stopped; the end of its console log:\n\t")
	assert.Contains(t, msg, "\tFailed to allocate manager object: Too many open files\n\tExiting PID 1...")
	assert.Contains(t, msg, "boot line 19")
	assert.NotContains(t, msg, "boot line 13", "only the last lines")
	assert.NotContains(t, msg, "\n\t\n", "blank lines dropped")
}

func TestStartVMWaitsThroughSlowBoot(t *testing.T) {
	d := newMemDriver()
	d.exec = func(m *memMachine, argv []string) (int, string, string) {
		if m.execs < 4 {
			return 255, "", "not yet"
		}
		return 0, "", ""
	}
	vm, err := StartVM(t.Context(), Debian("bookworm"), withDriver(d.as()), WithReadyTimeout(time.Minute))
	require.NoError(t, err)
	defer vm.Delete(context.Background())
	assert.Equal(t, 4, d.Calls("exec"))
}

func TestStartVMProvisionsInOrder(t *testing.T) {
	host := filepath.Join(t.TempDir(), "config file ü.txt")
	require.NoError(t, os.WriteFile(host, []byte("hello"), 0o644))
	d := newMemDriver()
	var mu sync.Mutex
	var ran []string
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, strings.Join(argv, " "))
		return 0, "", ""
	}
	custom := NewCheck("custom", func(ctx context.Context, vm *VM) error {
		_, err := vm.Run(ctx, "custom-check")
		return err
	})
	spec := Debian("bookworm").WithFile(host, "/etc/app/config").WithSetup("echo one", "echo two")
	vm, err := StartVM(t.Context(), spec, withDriver(d.as()), WithReady(custom))
	require.NoError(t, err)
	defer vm.Delete(context.Background())

	assert.Equal(t, []string{"true", "mkdir -p /etc/app", "sh -c echo one", "sh -c echo two", "custom-check"}, ran)
	d.mu.Lock()
	assert.Equal(t, "hello", string(d.machines[vm.Name()].files["/etc/app/config"]))
	d.mu.Unlock()
}

func TestStartVMSetupFailureIsReportedAndCleanedUp(t *testing.T) {
	d := newMemDriver()
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		if argv[0] == "sh" {
			return 100, "", "E: Unable to locate package nope"
		}
		return 0, "", ""
	}
	_, err := StartVM(t.Context(), Debian("bookworm").WithSetup("apt-get install -y nope"), withDriver(d.as()))
	require.Error(t, err)
	var exit *ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 100, exit.ExitCode)
	assert.Contains(t, err.Error(), "setup step 1 of 1")
	assert.Contains(t, err.Error(), "Unable to locate package nope")
	assert.Equal(t, 1, strings.Count(err.Error(), "orbtest:"), "one prefix: %s", err)
	assert.Equal(t, 1, strings.Count(err.Error(), exit.Machine), "the machine named once: %s", err)
	assert.Equal(t, 1, d.Calls("exec")-1, "a setup step is never retried")
	assert.Empty(t, d.Names())
}

func TestStartVMCloudInitFailureIsPermanent(t *testing.T) {
	d := newMemDriver()
	d.exec = func(_ *memMachine, argv []string) (int, string, string) {
		if argv[0] == "cloud-init" {
			return 1, "status: error\nerrors:\n\t('scripts_user', RuntimeError('runparts: failed'))\n", ""
		}
		return 0, "", ""
	}
	start := time.Now()
	_, err := StartVM(t.Context(), Debian("bookworm").WithCloudInit("#cloud-config\nruncmd: [false]\n"),
		withDriver(d.as()), WithReadyTimeout(time.Minute))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cloud-init failed")
	assert.Contains(t, err.Error(), "runparts: failed")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Empty(t, d.Names())
}
