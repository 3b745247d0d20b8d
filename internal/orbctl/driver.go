package orbctl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// BackendName is the name the driver reports.
const BackendName = "orbstack"

// execCaptureLimit bounds how much of a guest command's output Exec keeps in
// memory to recognise an orbctl error; the caller's writers get all of it.
const execCaptureLimit = 64 << 10

// Driver drives OrbStack machines through orbctl. It implements
// [backend.Driver] and is safe for concurrent use. Every call except Exec
// runs under the per-operation timeout of [backend.Timeout]; no call is
// retried.
type Driver struct {
	path string

	mu       sync.Mutex
	features *Features // from the first successful `orbctl version`

	users sync.Map // machine name -> default user, for home directories
}

var _ backend.Driver = (*Driver)(nil)

// New returns a driver that runs the orbctl at path (see [Find]). Nothing
// is run until a method is called.
func New(path string) *Driver { return &Driver{path: path} }

// Name returns "orbstack".
func (d *Driver) Name() string { return BackendName }

// Location returns "": OrbStack's machines are on this host.
func (d *Driver) Location() string { return "" }

// Probe checks that OrbStack is running with `orbctl status`, which never
// starts it, and reports the installed version and its features. The
// version is read once and cached; the status is checked on every call.
// When OrbStack is not running the error wraps [backend.ErrUnavailable].
func (d *Driver) Probe(ctx context.Context) (backend.Info, error) {
	if err := d.checkRunning(ctx); err != nil {
		return backend.Info{}, err
	}
	f, err := d.loadFeatures(ctx)
	if err != nil {
		return backend.Info{}, err
	}
	return backend.Info{Backend: BackendName, Version: f.Version.String(), Features: f.Backend()}, nil
}

func (d *Driver) checkRunning(ctx context.Context) error {
	res, err := d.run(ctx, backend.OpQuery, StatusArgs(), cmdrun.Cmd{})
	var ce *cmdrun.CommandError
	if err != nil && (!errors.As(err, &ce) || ce.ExitCode < 0) {
		// orbctl could not be run, or hung.
		if errors.Is(err, backend.ErrUnavailable) {
			return fmt.Errorf("orbctl status: %w", err)
		}
		return fmt.Errorf("orbctl status: %w: %w", backend.ErrUnavailable, err)
	}
	st, perr := ParseStatus(res.Stdout, res.ExitCode)
	switch {
	case perr != nil:
		return fmt.Errorf("orbctl status: %w: %w", backend.ErrUnavailable, errors.Join(perr, err))
	case st == StatusStarting:
		return fmt.Errorf("orbctl status: OrbStack is still starting; wait until `orbctl status` prints Running: %w", backend.ErrUnavailable)
	case st != StatusRunning:
		return fmt.Errorf("orbctl status: OrbStack is not running; start it with `orbctl start`: %w", backend.ErrUnavailable)
	}
	return nil
}

// loadFeatures runs `orbctl version` once and caches the result; a failure
// is not cached.
func (d *Driver) loadFeatures(ctx context.Context) (Features, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.features != nil {
		return *d.features, nil
	}
	res, err := d.run(ctx, backend.OpQuery, VersionArgs(), cmdrun.Cmd{})
	if err != nil {
		return Features{}, wrapErr("version", err)
	}
	v, err := ParseVersion(res.Stdout)
	if err != nil {
		return Features{}, err
	}
	f := FeaturesFor(v)
	d.features = &f
	return f, nil
}

// Create creates and boots machine name. Cloud-init user data is written to
// a temporary file, passed with -c and removed afterwards. Machines are
// created isolated from the host unless spec.HostAccess is set or the
// installed OrbStack predates isolated machines (2.1).
func (d *Driver) Create(ctx context.Context, name string, spec backend.Spec) (err error) {
	what := fmt.Sprintf("create %q", name)
	if verr := ValidateName(name); verr != nil {
		return fmt.Errorf("orbctl %s: %w", what, verr)
	}
	f, err := d.loadFeatures(ctx)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	var userData string
	if len(spec.CloudInit) > 0 {
		p, werr := writeTemp("orbtest-user-data-*.yaml", spec.CloudInit)
		if werr != nil {
			return fmt.Errorf("orbctl %s: write cloud-init user data: %w", what, werr)
		}
		defer func() {
			if rerr := os.Remove(p); rerr != nil && err == nil {
				err = fmt.Errorf("orbctl %s: remove cloud-init user data file: %w", what, rerr)
			}
		}()
		userData = p
	}
	args, err := CreateArgs(name, spec, userData, f)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	if _, err = d.run(ctx, backend.OpCreate, args, cmdrun.Cmd{}); err != nil {
		return wrapErr(what, err)
	}
	return nil
}

func writeTemp(pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Open returns the driver for the orbctl at path once OrbStack runs: a
// [CloningDriver] where the installed version clones (2.0 and later), else
// a *Driver, which does not implement [backend.Cloner].
func Open(ctx context.Context, path string) (backend.Driver, error) {
	d, _, err := OpenProbed(ctx, path)
	return d, err
}

// OpenProbed is Open, and also returns what the driver's probe reported.
func OpenProbed(ctx context.Context, path string) (backend.Driver, backend.Info, error) {
	d := New(path)
	info, err := d.Probe(ctx)
	if err != nil {
		return nil, backend.Info{}, err
	}
	if f, _ := d.loadFeatures(ctx); f.Clone {
		return CloningDriver{d}, info, nil
	}
	return d, info, nil
}

// CloningDriver is a [Driver] of an OrbStack that clones machines: it
// implements [backend.Cloner].
type CloningDriver struct{ *Driver }

var _ backend.Cloner = CloningDriver{}

// Clone copies machine src to a new, stopped machine dst with `orbctl clone
// SRC DST`. OrbStack pauses src while it is cloned. Before 2.0 the error
// wraps [backend.ErrUnsupported].
func (d CloningDriver) Clone(ctx context.Context, src, dst string) error {
	return d.clone(ctx, src, dst)
}

func (d *Driver) clone(ctx context.Context, src, dst string) error {
	what := fmt.Sprintf("clone %q to %q", src, dst)
	if err := ValidateName(src); err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	f, err := d.loadFeatures(ctx)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	args, err := CloneArgs(src, dst, f)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	return d.simple(ctx, backend.OpClone, what, args)
}

// Start starts machine name. orbctl returns once the machine's container
// runs, before its services and network are up.
func (d *Driver) Start(ctx context.Context, name string) error {
	args, err := StartArgs(name)
	return d.simpleOrErr(ctx, backend.OpStart, fmt.Sprintf("start %q", name), args, err)
}

// Stop stops machine name.
func (d *Driver) Stop(ctx context.Context, name string) error {
	args, err := StopArgs(name)
	return d.simpleOrErr(ctx, backend.OpStop, fmt.Sprintf("stop %q", name), args, err)
}

// Restart reboots machine name with `orbctl restart NAME`: a stop, then a
// start, which returns once the machine's container runs.
func (d *Driver) Restart(ctx context.Context, name string) error {
	args, err := RestartArgs(name)
	return d.simpleOrErr(ctx, backend.OpRestart, fmt.Sprintf("restart %q", name), args, err)
}

// Delete deletes machine name with `orbctl delete -f NAME`, stopping it
// first. A machine that does not exist gives an error wrapping
// [backend.ErrNotFound].
func (d *Driver) Delete(ctx context.Context, name string) error {
	args, err := DeleteArgs(name)
	return d.simpleOrErr(ctx, backend.OpDelete, fmt.Sprintf("delete %q", name), args, err)
}

// Inspect reports machine name from `orbctl info NAME -f json`.
func (d *Driver) Inspect(ctx context.Context, name string) (backend.Machine, error) {
	what := fmt.Sprintf("info %q", name)
	args, err := InfoArgs(name)
	if err != nil {
		return backend.Machine{}, fmt.Errorf("orbctl %s: %w", what, err)
	}
	res, err := d.run(ctx, backend.OpQuery, args, cmdrun.Cmd{})
	if err != nil {
		return backend.Machine{}, wrapErr(what, err)
	}
	m, err := ParseInfo(res.Stdout)
	if err != nil {
		return backend.Machine{}, fmt.Errorf("orbctl %s: %w", what, err)
	}
	m.Address = address(m)
	return m, nil
}

// List reports every machine from `orbctl list -f json` (orbctl hides its
// builtin docker and k8s machines). It never returns nil without an error.
func (d *Driver) List(ctx context.Context) ([]backend.Machine, error) {
	res, err := d.run(ctx, backend.OpQuery, ListArgs(), cmdrun.Cmd{})
	if err != nil {
		return nil, wrapErr("list", err)
	}
	ms, err := ParseList(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("orbctl list: %w", err)
	}
	return ms, nil
}

// Exec runs req.Argv in machine name with `orbctl run -m NAME` and returns
// the command's exit code. req.Env reaches the guest through OrbStack's
// ORBENV forwarding (see [ExecEnv]); stdin, stdout and stderr are streamed.
// Exec applies no timeout of its own (ctx bounds it) and is never retried.
//
// The command runs through the guard both drivers share
// ([cli.RunGuarded]): in a session of its own, its streams complete byte
// for byte (or the error wraps [cli.ErrIncomplete]), a req.Dir that does
// not exist an error wrapping [backend.ErrInvalid] (default: the user's
// home, or / when it is missing), and when ctx ends its process group is
// ended in the machine before Exec returns: orbctl run does not end it
// when its client dies.
//
// The error is non-nil only when the command could not run: bad input,
// orbctl could not be started or failed before the guard ran (a JSON-RPC
// daemon error such as "[-32098] machine not found: 'x'", or OrbStack
// cannot be started), ctx ended, or output was lost. The guard's records
// tell the guest's exit status from orbctl's own.
func (d *Driver) Exec(ctx context.Context, name string, req backend.ExecRequest) (int, error) {
	what := fmt.Sprintf("run %q", name)
	if _, err := RunArgs(name, req.User, cmp.Or(req.Dir, "/"), req.Argv); err != nil {
		return -1, fmt.Errorf("orbctl %s: %w", what, err) // bad input runs nothing
	}
	env, err := ExecEnv(req.Env)
	if err != nil {
		return -1, fmt.Errorf("orbctl %s: %w", what, err)
	}
	dir := req.Dir
	if dir == "" {
		home, err := d.home(ctx, name, req.User)
		if err != nil {
			return -1, fmt.Errorf("orbctl %s: %w", what, err)
		}
		dir = home
	}
	// The guard starts in the machine's / (-w /, which also keeps orbctl
	// from forwarding the Mac's working directory) and cds to dir itself.
	as := func(user string) func([]string) ([]string, error) {
		return func(guest []string) ([]string, error) {
			args, err := RunArgs(name, user, "/", guest)
			if err != nil {
				return nil, err
			}
			c := cmdrun.Cmd{}
			if err := d.command(args, &c); err != nil {
				return nil, err
			}
			return c.Args, nil
		}
	}
	o, err := cli.RunGuarded(ctx, cli.Guarded{
		Command: as(req.User), Root: as("root"), Env: env,
		Dir: dir, Home: req.Dir == "", Argv: req.Argv,
		Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr,
		Limit: execCaptureLimit, Tails: req.Tails,
	})
	if o.Ran {
		return o.Status, nil
	}
	var ce *cmdrun.CommandError
	if err == nil || !errors.As(err, &ce) || ce.ExitCode < 0 {
		return -1, wrapErr(what, err)
	}
	// The guard never ran: the failure is orbctl's.
	return -1, cli.Wrap("orbctl "+what, err, classifyLastLine)
}

// home returns the home directory of user in machine name, or of its
// default user when user is empty: /root for root, /home/USER otherwise, as
// OrbStack creates them.
func (d *Driver) home(ctx context.Context, name, user string) (string, error) {
	if user == "" {
		if u, ok := d.users.Load(name); ok {
			user = u.(string)
		} else {
			m, err := d.Inspect(ctx, name)
			if err != nil {
				return "", err
			}
			user = m.User
			if user != "" {
				d.users.Store(name, user)
			}
		}
	}
	switch user {
	case "":
		return "/", nil
	case "root":
		return "/root", nil
	}
	return "/home/" + user, nil
}

// Push copies host file hostPath into machine name at the absolute
// guestPath. A relative hostPath is taken from the current directory.
func (d *Driver) Push(ctx context.Context, name, hostPath, guestPath string) error {
	what := fmt.Sprintf("push %q to %s:%s", hostPath, name, guestPath)
	abs, err := absHost(hostPath)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	args, err := PushArgs(name, abs, guestPath)
	return d.simpleOrErr(ctx, backend.OpCopy, what, args, err)
}

// Pull copies the file at the absolute guestPath in machine name to
// hostPath. A relative hostPath is taken from the current directory.
func (d *Driver) Pull(ctx context.Context, name, guestPath, hostPath string) error {
	what := fmt.Sprintf("pull %s:%s to %q", name, guestPath, hostPath)
	abs, err := absHost(hostPath)
	if err != nil {
		return fmt.Errorf("orbctl %s: %w", what, err)
	}
	args, err := PullArgs(name, guestPath, abs)
	return d.simpleOrErr(ctx, backend.OpCopy, what, args, err)
}

// absHost makes a host path absolute, so no relative path can look like a
// flag; an empty path is left for the builder to reject.
func absHost(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("host path %q: %w", p, err)
	}
	return abs, nil
}

// Hostname is NAME.orb.local, which OrbStack's DNS answers for every
// machine, from the Mac and from other machines.
func (d *Driver) Hostname(name string) string { return hostname(name) }

// ShellCommand returns the command a person runs for a shell in machine
// name: "orb -m NAME".
func (d *Driver) ShellCommand(name string) string { return cli.Join("orb", "-m", name) }

// DeleteCommand returns the command a person runs to delete machine name:
// "orbctl delete -f NAME".
func (d *Driver) DeleteCommand(name string) string { return cli.Join("orbctl", "delete", "-f", name) }

// simpleOrErr runs args unless building them failed.
func (d *Driver) simpleOrErr(ctx context.Context, op backend.Op, what string, args []string, buildErr error) error {
	if buildErr != nil {
		return fmt.Errorf("orbctl %s: %w", what, buildErr)
	}
	return d.simple(ctx, op, what, args)
}

// simple runs a command whose output is not needed.
func (d *Driver) simple(ctx context.Context, op backend.Op, what string, args []string) error {
	if _, err := d.run(ctx, op, args, cmdrun.Cmd{}); err != nil {
		return wrapErr(what, err)
	}
	return nil
}

// run runs orbctl with args under the timeout of op.
func (d *Driver) run(ctx context.Context, op backend.Op, args []string, c cmdrun.Cmd) (cmdrun.Result, error) {
	if err := d.command(args, &c); err != nil {
		return cmdrun.Result{ExitCode: -1}, err
	}
	return cli.Run(ctx, op, c)
}

// start runs orbctl with args under ctx alone.
func (d *Driver) start(ctx context.Context, args []string, c cmdrun.Cmd) (cmdrun.Result, error) {
	if err := d.command(args, &c); err != nil {
		return cmdrun.Result{ExitCode: -1}, err
	}
	return cmdrun.Run(ctx, c)
}

// command sets c's argv to orbctl and args.
func (d *Driver) command(args []string, c *cmdrun.Cmd) error {
	if d.path == "" {
		return fmt.Errorf("no orbctl path; use orbctl.Find: %w", backend.ErrUnavailable)
	}
	c.Args = append([]string{d.path}, args...)
	return nil
}
