package incus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
	"github.com/orbtest/go-orbtest/internal/env"
)

// Find returns the absolute path of the incus binary to run: $ORBTEST_INCUS
// when set (a path to an executable, or a name looked up in PATH), else
// "incus" looked up in PATH (see [cli.Find]). The error wraps
// backend.ErrUnavailable.
func Find() (string, error) { return cli.Find("incus", env.Incus, "install Incus") }

// Option configures a Driver.
type Option func(*Driver)

// WithRemote makes the driver address remote ("remote:name") instead of the
// client's default remote. Callers read it from $ORBTEST_INCUS_REMOTE.
func WithRemote(remote string) Option { return func(d *Driver) { d.b.Remote = remote } }

// WithImageServer sets the remote consulted when no local image matches
// (default DefaultImageServer); "" disables the fallback.
func WithImageServer(remote string) Option { return func(d *Driver) { d.imageServer = remote } }

// Driver drives Incus through its CLI. It implements backend.Driver and is
// safe for concurrent use.
type Driver struct {
	path        string
	b           Builder
	imageServer string

	mu     sync.Mutex
	images map[ImageQuery]resolved // resolved image references
	users  map[userKey]Account     // accounts looked up in machines
	defs   map[string]string       // machine -> default user
	arches map[string]bool         // server architectures, from serverInfo
	// project is the client's project on the remote, for Inspect's
	// query; "" once known means unknown (Inspect lists instead).
	project      string
	projectKnown bool
}

type userKey struct{ machine, user string }

var (
	_ backend.Driver          = (*Driver)(nil)
	_ backend.Cloner          = (*Driver)(nil)
	_ backend.Snapshotter     = (*Driver)(nil)
	_ backend.ConsoleLogger   = (*Driver)(nil)
	_ backend.ImageIdentifier = (*Driver)(nil)
)

// New returns a driver that runs the incus binary at path (see Find).
func New(path string, opts ...Option) *Driver {
	d := &Driver{
		path:        path,
		imageServer: DefaultImageServer,
		images:      map[ImageQuery]resolved{},
		users:       map[userKey]Account{},
		defs:        map[string]string{},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Name returns "incus".
func (d *Driver) Name() string { return "incus" }

// Location returns the remote the driver addresses ("" is the client's
// default one).
func (d *Driver) Location() string { return d.b.Remote }

// run runs incus with args under the timeout of op.
func (d *Driver) run(ctx context.Context, op backend.Op, args []string) (cmdrun.Result, error) {
	return cli.Run(ctx, op, cmdrun.Cmd{Args: append([]string{d.path}, args...)})
}

// Probe checks that the incus server answers and reports its version and
// features. It starts nothing.
func (d *Driver) Probe(ctx context.Context) (backend.Info, error) {
	info, err := d.serverInfo(ctx)
	if err != nil {
		return backend.Info{}, err
	}
	return backend.Info{
		Backend:  "incus",
		Version:  info.Environment.ServerVersion,
		Features: []string{"isolated", "limits", "cloud-init"},
	}, nil
}

// serverInfo queries /1.0 and remembers the server's architectures.
func (d *Driver) serverInfo(ctx context.Context) (ServerInfo, error) {
	args, err := d.b.ServerInfo()
	if err != nil {
		return ServerInfo{}, err
	}
	res, err := d.run(ctx, backend.OpQuery, args)
	if err != nil {
		return ServerInfo{}, wrap("info", d.b.Remote, err)
	}
	info, err := ParseServerInfo(res.Stdout)
	if err != nil {
		return ServerInfo{}, fmt.Errorf("incus info %q: %w", d.b.Remote, err)
	}
	d.mu.Lock()
	d.arches = map[string]bool{}
	for _, a := range info.Environment.Architectures {
		d.arches[a] = true
	}
	d.mu.Unlock()
	return info, nil
}

// dnsDomain is the DNS domain of an Incus bridge whose dns.domain is not
// set: its dnsmasq answers NAME.incus with the container's address.
const dnsDomain = "incus"

// Hostname is NAME.incus: the name the bridge's DNS (dnsmasq) gives the
// container, which other containers on the bridge resolve. The host does
// not resolve it unless its resolver asks the bridge.
func (d *Driver) Hostname(name string) string { return name + "." + dnsDomain }

// ShellCommand is the command a person runs for a root login shell in the
// machine.
func (d *Driver) ShellCommand(name string) string {
	return cli.Join(d.path, "exec", instanceRef(d.b.Remote, name), "--", "bash", "-l")
}

// DeleteCommand is the command a person runs to delete the machine.
func (d *Driver) DeleteCommand(name string) string {
	return cli.Join(d.path, "delete", "--force", instanceRef(d.b.Remote, name))
}

// forget drops what the driver cached about a machine.
func (d *Driver) forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.defs, name)
	for k := range d.users {
		if k.machine == name {
			delete(d.users, k)
		}
	}
}

// sleep waits for dur or until ctx ends.
func sleep(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
