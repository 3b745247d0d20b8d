package orbtest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
)

// memDriver is an in-memory backend.Driver for unit tests of the core.
// Hooks let a test inject failures; calls records every call as "op name".
type memDriver struct {
	mu       sync.Mutex
	machines map[string]*memMachine
	calls    []string

	createErrs []error                                                  // returned by successive Create calls
	createHang int                                                      // Create calls that make the machine, then block until ctx ends
	exec       func(m *memMachine, argv []string) (int, string, string) // nil: exit 0
	deleteErrs []error
	clones     bool // clones and snapshots, like Incus (see as)
	peak       int  // most non-template machines alive at once
}

// count updates peak; d.mu is held.
func (d *memDriver) count() {
	n := 0
	for name := range d.machines {
		if !naming.IsTemplate(name) && !naming.IsCacheEntry(name, "") {
			n++
		}
	}
	d.peak = max(d.peak, n)
}

type memMachine struct {
	snaps map[string]map[string][]byte
	name  string
	spec  backend.Spec
	state backend.State
	boot  int // incremented at each boot: the boot id is "boot-N"
	execs int
	files map[string][]byte
}

func newMemDriver() *memDriver { return &memDriver{machines: map[string]*memMachine{}} }

// newCloningDriver is a memDriver that clones and snapshots, like Incus.
func newCloningDriver() *memDriver {
	d := newMemDriver()
	d.clones = true
	return d
}

// as is the driver the library sees: d, or, when d clones, d with the
// optional Cloner and Snapshotter interfaces.
func (d *memDriver) as() backend.Driver {
	if d.clones {
		return memCloner{d}
	}
	return d
}

// memCloner is a memDriver that implements backend.Cloner and
// backend.Snapshotter.
type memCloner struct{ *memDriver }

// testRun isolates a test's pool: its own driver and run state, no reaper.
func testRun(t testing.TB, d *memDriver) Option {
	return Options(withDriver(d.as()), withRun(t.TempDir(), "t"+RunID()))
}

func (d *memDriver) record(op, name string) {
	d.calls = append(d.calls, op+" "+name)
}

func (d *memDriver) Calls(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.calls {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

func (d *memDriver) Names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for n := range d.machines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (d *memDriver) Name() string { return "mem" }

func (d *memDriver) Probe(context.Context) (backend.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("probe", "")
	return backend.Info{Backend: "mem", Version: "1"}, nil
}

func (d *memDriver) Location() string { return "" }

func (d *memDriver) Create(ctx context.Context, name string, spec backend.Spec) error {
	d.mu.Lock()
	d.record("create", name)
	if len(d.createErrs) > 0 {
		err := d.createErrs[0]
		d.createErrs = d.createErrs[1:]
		if err != nil {
			d.mu.Unlock()
			return err
		}
	}
	if _, ok := d.machines[name]; ok {
		d.mu.Unlock()
		return fmt.Errorf("create %q: %w", name, backend.ErrExists)
	}
	d.machines[name] = &memMachine{name: name, spec: spec, state: backend.StateRunning, boot: 1, files: map[string][]byte{}}
	d.count()
	hang := d.createHang > 0
	if hang {
		d.createHang--
	}
	d.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("create %q: %w", name, ctx.Err())
	}
	return nil
}

func (d *memDriver) get(name string) (*memMachine, error) {
	m, ok := d.machines[name]
	if !ok {
		return nil, fmt.Errorf("machine %q: %w", name, backend.ErrNotFound)
	}
	return m, nil
}

func (d memCloner) Clone(_ context.Context, src, dst string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("clone", dst)
	m, err := d.get(src)
	if err != nil {
		return err
	}
	if _, ok := d.machines[dst]; ok {
		return fmt.Errorf("clone %q: %w", dst, backend.ErrExists)
	}
	d.machines[dst] = &memMachine{name: dst, spec: m.spec, state: backend.StateStopped, files: maps.Clone(m.files)}
	d.count()
	return nil
}

func (d *memDriver) setState(op, name string, s backend.State) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record(op, name)
	m, err := d.get(name)
	if err != nil {
		return err
	}
	if s == backend.StateRunning && m.state != backend.StateRunning {
		m.boot++
	}
	m.state = s
	return nil
}

func (d *memDriver) Start(_ context.Context, name string) error {
	return d.setState("start", name, backend.StateRunning)
}

func (d *memDriver) Stop(_ context.Context, name string) error {
	return d.setState("stop", name, backend.StateStopped)
}

// Restart reboots a running machine; a stopped one is an error, as in
// Incus.
func (d *memDriver) Restart(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("restart", name)
	m, err := d.get(name)
	if err != nil {
		return err
	}
	if m.state != backend.StateRunning {
		return fmt.Errorf("restart %q: machine is %s: %w", name, m.state, backend.ErrInvalid)
	}
	m.boot++
	return nil
}

func (d *memDriver) Hostname(name string) string { return name + ".mem" }

func (d *memDriver) Delete(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("delete", name)
	if len(d.deleteErrs) > 0 {
		err := d.deleteErrs[0]
		d.deleteErrs = d.deleteErrs[1:]
		if err != nil {
			return err
		}
	}
	if _, err := d.get(name); err != nil {
		return err
	}
	delete(d.machines, name)
	return nil
}

func (d *memDriver) Inspect(_ context.Context, name string) (backend.Machine, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("inspect", name)
	m, err := d.get(name)
	if err != nil {
		return backend.Machine{}, err
	}
	return backend.Machine{Name: name, State: m.state, IP4: "127.0.0.1", Address: "127.0.0.1"}, nil
}

func (d *memDriver) List(context.Context) ([]backend.Machine, error) {
	var out []backend.Machine
	for _, n := range d.Names() {
		out = append(out, backend.Machine{Name: n})
	}
	return out, nil
}

func (d *memDriver) Exec(_ context.Context, name string, req backend.ExecRequest) (int, error) {
	d.mu.Lock()
	d.record("exec", name)
	m, err := d.get(name)
	if err != nil {
		d.mu.Unlock()
		return -1, err
	}
	if m.state != backend.StateRunning {
		d.mu.Unlock()
		return -1, fmt.Errorf("machine %q is %s: %w", name, m.state, backend.ErrTransient)
	}
	m.execs++
	hook := d.exec
	boot := m.boot
	d.mu.Unlock()
	if slices.Equal(req.Argv, []string{"cat", bootIDPath}) {
		fmt.Fprintf(req.Stdout, "boot-%d\n", boot)
		return 0, nil
	}
	if req.Stdin != nil {
		_, _ = io.Copy(io.Discard, req.Stdin)
	}
	if hook == nil {
		return 0, nil
	}
	code, stdout, stderr := hook(m, req.Argv)
	_, _ = io.WriteString(req.Stdout, stdout)
	_, _ = io.WriteString(req.Stderr, stderr)
	return code, nil
}

func (d *memDriver) Push(_ context.Context, name, hostPath, guestPath string) error {
	b, err := os.ReadFile(hostPath)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("push", name)
	m, err := d.get(name)
	if err != nil {
		return err
	}
	m.files[guestPath] = b
	return nil
}

func (d *memDriver) Pull(_ context.Context, name, guestPath, hostPath string) error {
	d.mu.Lock()
	m, err := d.get(name)
	var b []byte
	if err == nil {
		b = m.files[guestPath]
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(hostPath, b, 0o644)
}

func (d memCloner) Snapshot(_ context.Context, name, snap string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("snapshot", name)
	m, err := d.get(name)
	if err != nil {
		return err
	}
	if m.snaps == nil {
		m.snaps = map[string]map[string][]byte{}
	}
	m.snaps[snap] = maps.Clone(m.files)
	return nil
}

func (d memCloner) Restore(_ context.Context, name, snap string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("restore", name)
	m, err := d.get(name)
	if err != nil {
		return err
	}
	files, ok := m.snaps[snap]
	if !ok {
		return fmt.Errorf("snapshot %q: %w", snap, backend.ErrNotFound)
	}
	m.files = maps.Clone(files)
	m.state = backend.StateStopped
	return nil
}
func (d *memDriver) ShellCommand(name string) string  { return "mem shell " + name }
func (d *memDriver) DeleteCommand(name string) string { return "mem delete " + name }
