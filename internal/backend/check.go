package backend

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// The input rules every driver and the orbtest package apply before
// anything runs. Each returns an error wrapping ErrInvalid that says what
// to use instead; callers add their context ("push", "working directory").

// CheckGuestPath reports whether p can name a place inside a machine, such
// as a working directory: an absolute path with no NUL byte.
func CheckGuestPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"): // the empty path too
		return fmt.Errorf("guest path %q is not absolute: use a path from / in the machine: %w", p, ErrInvalid)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("guest path %q contains a NUL byte: %w", p, ErrInvalid)
	}
	return nil
}

// CheckGuestFile is [CheckGuestPath] for the guest side of a file copy (a
// push, a pull, a file a Spec copies in): the path names the file itself,
// so the root directory ("/", or a path that cleans to it) is refused.
func CheckGuestFile(p string) error {
	if err := CheckGuestPath(p); err != nil {
		return err
	}
	if path.Clean(p) == "/" {
		return fmt.Errorf("guest path %q is the root directory: name the file, such as /tmp/data: %w", p, ErrInvalid)
	}
	return nil
}

// CheckHostPath reports whether p can name a file on the host: not empty
// and with no NUL byte. A relative path is taken from the current
// directory.
func CheckHostPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("host path is empty: %w", ErrInvalid)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("host path %q contains a NUL byte: %w", p, ErrInvalid)
	}
	return nil
}

// UserPattern is the rule for a user name in a machine, the one useradd's
// default and OrbStack share: lower-case letters, digits, '_' and '-',
// starting with a letter or '_', at most 32 characters. [CheckUser]
// applies it.
var UserPattern = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// CheckUser reports whether user is a user name [UserPattern] accepts.
func CheckUser(user string) error {
	if !UserPattern.MatchString(user) {
		return fmt.Errorf("bad user name %q: use lower-case letters, digits, _ and -, starting with a letter or _ (at most 32): %w", user, ErrInvalid)
	}
	return nil
}
