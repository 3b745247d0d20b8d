package incus

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// execLimit bounds what Exec keeps of each stream for its own use; the
// caller's writers still receive everything.
const execLimit = 64 << 10

// Exec runs req.Argv in a container and returns the guest's exit code.
//
// The command runs as req.User (default: the machine's default user, root
// unless Create was given a user), with that user's uid and primary gid (no
// supplementary groups: incus exec sets none), HOME, USER and LOGNAME set,
// in req.Dir or else the user's home (or /, when the home is missing).
// Uids are looked up with "getent passwd" inside the container once per
// machine and user.
//
// The command runs through the guard both drivers share
// ([cli.RunGuarded]): in a session of its own, its streams complete byte
// for byte (or the error wraps [cli.ErrIncomplete]), a req.Dir that does
// not exist an error wrapping [backend.ErrInvalid], and when ctx ends its
// process group is ended in the container before Exec returns.
//
// Exec has no timeout of its own (only ctx bounds a user command) and is
// never retried. The error is non-nil only when the command could not run
// at all: bad input, an unknown user, a missing directory, the binary or
// daemon unreachable, the instance missing or not running, ctx ending, or
// output lost. incus reports its own failures as a last stderr line
// "Error: ..." with exit status 1; the guard's records tell them from the
// guest's, and when the guard never ran the instance's state is checked.
func (d *Driver) Exec(ctx context.Context, name string, req backend.ExecRequest) (int, error) {
	if err := ValidateName(name); err != nil {
		return -1, err
	}
	// Check the caller's input before anything runs.
	if _, err := d.b.Exec(name, ExecOptions{Cwd: req.Dir, Env: req.Env}, req.Argv); err != nil {
		return -1, err
	}
	acct, err := d.account(ctx, name, req.User)
	if err != nil {
		return -1, err
	}
	env := append([]string{"HOME=" + acct.Home, "USER=" + acct.Name, "LOGNAME=" + acct.Name}, req.Env...)
	return d.guarded(ctx, name, cli.Guarded{
		Command: d.execArgs(name, ExecOptions{UID: acct.UID, GID: acct.GID, Cwd: "/", Env: env}),
		Dir:     cmp.Or(req.Dir, acct.Home),
		Home:    req.Dir == "",
		Argv:    req.Argv,
		Stdin:   req.Stdin,
		Stdout:  req.Stdout,
		Stderr:  req.Stderr,
		Tails:   req.Tails,
	})
}

// guarded runs g in the container, as root for its kill and ack calls.
func (d *Driver) guarded(ctx context.Context, name string, g cli.Guarded) (int, error) {
	g.Root = d.execArgs(name, ExecOptions{Cwd: "/", NoStdin: true})
	g.Limit = execLimit
	o, err := cli.RunGuarded(ctx, g)
	if o.Ran {
		return o.Status, nil
	}
	if err == nil {
		return -1, fmt.Errorf("incus exec %q: the guard did not report the end of the command", name)
	}
	var ce *cmdrun.CommandError
	if !errors.As(err, &ce) {
		return -1, fmt.Errorf("incus exec %q: %w", name, err)
	}
	return d.execResult(ctx, name, o.Client, err)
}

// execArgs returns the builder of the host argv that runs a guest argv.
func (d *Driver) execArgs(name string, o ExecOptions) func([]string) ([]string, error) {
	return func(guest []string) ([]string, error) {
		args, err := d.b.Exec(name, o, guest)
		if err != nil {
			return nil, err
		}
		return append([]string{d.path}, args...), nil
	}
}

// execResult tells a guest's non-zero exit from a failure of incus.
func (d *Driver) execResult(ctx context.Context, name string, res cmdrun.Result, err error) (int, error) {
	var ce *cmdrun.CommandError
	if !errors.As(err, &ce) || ce.ExitCode < 0 || ctx.Err() != nil || cli.Interrupted(err) {
		return -1, wrap("exec", name, err)
	}
	m, ierr := d.Inspect(context.WithoutCancel(ctx), name)
	if ierr == nil && m.State == backend.StateRunning {
		return -1, fmt.Errorf("incus exec %q: the guard did not run: %w", name, err)
	}
	if werr := wrap("exec", name, err); errors.Is(werr, backend.ErrNotFound) || errors.Is(werr, backend.ErrUnavailable) {
		return -1, werr
	}
	if ierr != nil {
		return -1, fmt.Errorf("incus exec %q: %w (%w)", name, ierr, err)
	}
	return -1, fmt.Errorf("incus exec %q: machine is %s, not running: %w: %w", name, m.State, backend.ErrInvalid, err)
}

// defaultUser is the machine's default user: user.orbtest.user, else root.
func (d *Driver) defaultUser(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	u, ok := d.defs[name]
	d.mu.Unlock()
	if ok {
		return u, nil
	}
	m, err := d.Inspect(ctx, name)
	if err != nil {
		return "", err
	}
	return m.User, nil
}

// account resolves user (empty: the default user) inside the machine.
func (d *Driver) account(ctx context.Context, name, user string) (Account, error) {
	if user == "" {
		var err error
		if user, err = d.defaultUser(ctx, name); err != nil {
			return Account{}, err
		}
	}
	if user == "root" {
		return Account{Name: "root", UID: 0, GID: 0, Home: "/root"}, nil
	}
	if err := backend.CheckUser(user); err != nil {
		return Account{}, fmt.Errorf("incus: %w", err)
	}
	key := userKey{name, user}
	d.mu.Lock()
	a, ok := d.users[key]
	d.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := d.lookupUser(ctx, name, user)
	if err != nil {
		return Account{}, err
	}
	d.mu.Lock()
	d.users[key] = a
	d.mu.Unlock()
	return a, nil
}

// lookupUser runs "getent passwd USER" as root in the machine.
func (d *Driver) lookupUser(ctx context.Context, name, user string) (Account, error) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, backend.Timeout(backend.OpQuery))
	defer cancel()
	code, err := d.guarded(ctx, name, cli.Guarded{
		Command: d.execArgs(name, ExecOptions{Cwd: "/"}),
		Dir:     "/",
		Argv:    []string{"getent", "passwd", user},
		Stdout:  &out,
	})
	if err != nil {
		return Account{}, fmt.Errorf("incus: look up user %q: %w", user, err)
	}
	if code != 0 {
		return Account{}, fmt.Errorf("incus: user %q does not exist in %q (getent exited %d): %w", user, name, code, backend.ErrInvalid)
	}
	return ParsePasswd(firstLine(out.String()))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// Push copies a host file to an absolute guest path. The file keeps its
// host permission bits and is owned by the machine's default user (root
// unless Create was given a user); the guest directory must exist.
func (d *Driver) Push(ctx context.Context, name, hostPath, guestPath string) error {
	// Check the caller's input before anything runs.
	if _, err := d.b.FilePush(name, hostPath, guestPath, PushOptions{UID: -1, GID: -1, Mode: -1}); err != nil {
		return err
	}
	acct, err := d.account(ctx, name, "")
	if err != nil {
		return err
	}
	args, err := d.b.FilePush(name, hostPath, guestPath, PushOptions{UID: acct.UID, GID: acct.GID, Mode: -1})
	if err != nil {
		return err
	}
	if _, err := d.run(ctx, backend.OpCopy, args); err != nil {
		return wrapAs(fmt.Sprintf("incus push %q to %q", hostPath, name+":"+guestPath), err)
	}
	return nil
}

// Pull copies the guest file at an absolute path to hostPath.
func (d *Driver) Pull(ctx context.Context, name, guestPath, hostPath string) error {
	args, err := d.b.FilePull(name, guestPath, hostPath)
	if err != nil {
		return err
	}
	if _, err := d.run(ctx, backend.OpCopy, args); err != nil {
		return wrapAs(fmt.Sprintf("incus pull %q to %q", name+":"+guestPath, hostPath), err)
	}
	return nil
}
