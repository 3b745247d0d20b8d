package incus

import (
	"fmt"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// MaxNameLen is the longest instance name Incus accepts (a DNS label).
const MaxNameLen = 63

// ValidateName reports whether name is a valid Incus instance name: 1 to 63
// ASCII letters, digits and hyphens, starting with a letter and not ending
// with a hyphen. Dots and underscores are rejected (Incus uses the name as a
// host name). The error wraps backend.ErrInvalid.
func ValidateName(name string) error {
	if err := checkLabel(name, false); err != nil {
		return fmt.Errorf("incus: invalid instance name %q: %s: %w", name, err, backend.ErrInvalid)
	}
	return nil
}

// ValidateSnapshotName reports whether snap is an acceptable snapshot name:
// 1 to 63 ASCII letters, digits, hyphens, dots and underscores, starting with
// a letter or digit. The error wraps backend.ErrInvalid.
func ValidateSnapshotName(snap string) error {
	if err := checkLabel(snap, true); err != nil {
		return fmt.Errorf("incus: invalid snapshot name %q: %s: %w", snap, err, backend.ErrInvalid)
	}
	return nil
}

// ValidateRemote reports whether remote is usable as a remote prefix: empty
// (the client's default remote) or letters, digits, hyphens, dots and
// underscores, not starting with a hyphen.
func ValidateRemote(remote string) error {
	if remote == "" {
		return nil
	}
	if err := checkLabel(remote, true); err != nil {
		return fmt.Errorf("incus: invalid remote %q: %s: %w", remote, err, backend.ErrInvalid)
	}
	return nil
}

// checkLabel returns a short reason why s is not a valid name, or nil.
// loose allows dots and underscores and a leading digit.
func checkLabel(s string, loose bool) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("longer than %d characters", MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetter(c):
		case isDigit(c), c == '-':
			if i == 0 && (c == '-' || !loose) {
				return fmt.Errorf("must start with a letter")
			}
		case loose && (c == '.' || c == '_'):
			if i == 0 {
				return fmt.Errorf("must start with a letter or digit")
			}
		default:
			return fmt.Errorf("character %q not allowed", c)
		}
	}
	if !loose && s[len(s)-1] == '-' {
		return fmt.Errorf("must not end with a hyphen")
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// checkCopy checks the host and guest paths of a file push or pull.
func checkCopy(hostPath, guestPath string) error {
	if err := backend.CheckHostPath(hostPath); err != nil {
		return fmt.Errorf("incus: %w", err)
	}
	if err := backend.CheckGuestFile(guestPath); err != nil {
		return fmt.Errorf("incus: %w", err)
	}
	return nil
}

// instanceRef is name, prefixed with "remote:" when remote is set.
func instanceRef(remote, name string) string {
	if remote == "" {
		return name
	}
	return remote + ":" + name
}
