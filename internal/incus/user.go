package incus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// addUserScript creates user $1 (useradd, or busybox adduser on Alpine)
// with a home directory and a login shell, and gives it passwordless sudo
// through /etc/sudoers.d. It is idempotent. The name arrives as a
// positional parameter, never inside the script text.
const addUserScript = `set -eu
u="$1"
if ! id "$u" >/dev/null 2>&1; then
	if command -v useradd >/dev/null 2>&1; then
		sh=/bin/sh
		[ -x /bin/bash ] && sh=/bin/bash
		useradd -m -s "$sh" "$u"
	else
		adduser -D -s /bin/sh "$u"
	fi
fi
mkdir -p /etc/sudoers.d
f="/etc/sudoers.d/90-orbtest-$u"
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$u" >"$f"
chmod 0440 "$f"
`

// AddUserArgv is the argv, run as root in the machine, that creates user.
func AddUserArgv(user string) []string {
	return []string{"sh", "-c", addUserScript, "sh", user}
}

// execReadyTimeout bounds the wait for a just-started container to accept
// incus exec.
const execReadyTimeout = 30 * time.Second

// addUser creates the machine's default user. Right after "incus start" an
// exec can still fail at incus level; those failures are retried until
// execReadyTimeout (the script is idempotent). A script failure is not.
func (d *Driver) addUser(ctx context.Context, name, user string) error {
	args, err := d.b.Exec(name, ExecOptions{Cwd: "/", NoStdin: true}, AddUserArgv(user))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, execReadyTimeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		res, err := cmdrun.Run(ctx, cmdrun.Cmd{Args: append([]string{d.path}, args...), Limit: execLimit})
		if err == nil {
			break
		}
		code, xerr := d.execResult(ctx, name, res, err)
		if xerr == nil {
			return fmt.Errorf("incus create %q: add user %q: script exited %d: %w", name, user, code, err)
		}
		if errors.Is(xerr, backend.ErrNotFound) || errors.Is(xerr, backend.ErrUnavailable) {
			return fmt.Errorf("incus create %q: add user %q: %w", name, user, xerr)
		}
		if serr := sleep(ctx, delay); serr != nil {
			return fmt.Errorf("incus create %q: add user %q: container never accepted exec: %w", name, user, xerr)
		}
		delay = min(2*delay, 2*time.Second)
	}
	d.mu.Lock()
	d.defs[name] = user
	d.mu.Unlock()
	return nil
}

// Account is a user inside a machine, as "getent passwd" reports it.
type Account struct {
	Name     string
	UID, GID int
	Home     string
}

// ParsePasswd parses one "getent passwd NAME" line:
// name:x:uid:gid:gecos:home:shell.
func ParsePasswd(line string) (Account, error) {
	f := strings.Split(strings.TrimSpace(line), ":")
	if len(f) < 7 {
		return Account{}, fmt.Errorf("incus: parse passwd entry %q: want 7 fields", line)
	}
	var a Account
	a.Name, a.Home = f[0], f[5]
	var err error
	if a.UID, err = parseID(f[2]); err != nil {
		return Account{}, fmt.Errorf("incus: parse passwd entry %q: uid: %w", line, err)
	}
	if a.GID, err = parseID(f[3]); err != nil {
		return Account{}, fmt.Errorf("incus: parse passwd entry %q: gid: %w", line, err)
	}
	if a.Home == "" {
		a.Home = "/"
	}
	return a, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return int(n), err
}
