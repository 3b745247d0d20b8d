package incus

import (
	"bytes"
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
// in req.Dir or else the user's home. Uids are looked up with "getent
// passwd" inside the container once per machine and user.
//
// Exec has no timeout of its own (only ctx bounds a user command) and is
// never retried. The error is non-nil only when the command could not run
// at all: bad input, an unknown user, the binary or daemon unreachable, the
// instance missing or not running, ctx ending. incus reports its own
// failures as a last stderr line "Error: ..." with exit status 1, which a
// guest program may print too; so a non-zero status with such a line is
// confirmed with Inspect, and while the instance runs the status is the
// guest's. Failures incus reports for a running instance (a missing
// program, a bad working directory) therefore come back as exit codes, with
// incus's message on req.Stderr.
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
	dir, strict := req.Dir, true
	if dir == "" {
		dir, strict = acct.Home, false
	}
	env := append([]string{"HOME=" + acct.Home, "USER=" + acct.Name, "LOGNAME=" + acct.Name}, req.Env...)
	args, err := d.b.Exec(name, ExecOptions{UID: acct.UID, GID: acct.GID, Cwd: dir, Env: env, NoStdin: req.Stdin == nil}, guarded(dir, strict, req.Argv))
	if err != nil {
		return -1, err
	}
	res, err := cmdrun.Run(ctx, cmdrun.Cmd{
		Args:   append([]string{d.path}, args...),
		Stdin:  req.Stdin,
		Stdout: req.Stdout,
		Stderr: req.Stderr,
		Limit:  execLimit,
	})
	if err == nil {
		return 0, nil
	}
	return d.execResult(ctx, name, res, err)
}

// execGuard runs a command through sh so that two flaws of incus exec do
// not reach the caller:
//
//   - incus exec can drop the last output of a command that exits right
//     after writing it (lxc/lxc#4282): under load about 1 run in 100 lost
//     stdout or stderr. Holding the streams open for flushDelay after the
//     command exits made it 0 in 200 in the same conditions.
//   - incus exec --cwd with a directory that does not exist silently runs
//     the command in /. The guard cds there first and fails instead; for
//     the default directory, a home the user may not have (nobody's is
//     /nonexistent), it falls back to / as login does.
//
// The command's arguments reach it as sh's positional parameters, never
// through the shell's parser; its exit status (128+N when a signal killed
// it) is the guard's.
const (
	execGuard     = `cd "$1" || exit; shift; "$@"; s=$?; sleep ` + flushDelay + ` 2>/dev/null; exit $s`
	execGuardHome = `cd "$1" 2>/dev/null || cd /; shift; "$@"; s=$?; sleep ` + flushDelay + ` 2>/dev/null; exit $s`
)

// flushDelay is how long, in seconds, the guard keeps the streams open.
const flushDelay = "0.02"

// guarded returns argv run through the guard in dir; strict when the
// caller named dir.
func guarded(dir string, strict bool, argv []string) []string {
	guard := execGuardHome
	if strict {
		guard = execGuard
	}
	return append([]string{"/bin/sh", "-c", guard, "orbtest-exec", dir}, argv...)
}

// execResult tells a guest's non-zero exit from a failure of incus.
func (d *Driver) execResult(ctx context.Context, name string, res cmdrun.Result, err error) (int, error) {
	var ce *cmdrun.CommandError
	if !errors.As(err, &ce) || ce.ExitCode < 0 || ctx.Err() != nil || cli.Interrupted(err) {
		return -1, wrap("exec", name, err)
	}
	if _, ok := incusError(string(res.Stderr)); !ok {
		return res.ExitCode, nil
	}
	m, ierr := d.Inspect(context.WithoutCancel(ctx), name)
	if ierr == nil && m.State == backend.StateRunning {
		return res.ExitCode, nil
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
	// Through the guard: getent prints and exits at once, the case in which
	// incus exec loses output.
	args, err := d.b.Exec(name, ExecOptions{Cwd: "/", NoStdin: true}, guarded("/", true, []string{"getent", "passwd", user}))
	if err != nil {
		return Account{}, err
	}
	res, err := cli.Run(ctx, backend.OpQuery, cmdrun.Cmd{Args: append([]string{d.path}, args...), Stdout: &out, Limit: execLimit})
	if err != nil {
		code, xerr := d.execResult(ctx, name, res, err)
		if xerr != nil {
			return Account{}, fmt.Errorf("incus: look up user %q: %w", user, xerr)
		}
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
