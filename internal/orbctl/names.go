package orbctl

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// MaxNameLen is the longest machine name the builders accept. orbctl's own
// pattern has no limit; 63 keeps NAME.orb.local a valid DNS label.
const MaxNameLen = 63

// namePattern is orbctl's machine-name pattern (scon/types/names.go).
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]+$`)

// reservedNames are the names orbctl refuses for machines; docker and k8s
// are its builtin machines, which the library must never stop or delete.
var reservedNames = []string{"default", "vm", "host", "services", "gateway", "k8s", "docker"}

// ValidateName reports whether name is a machine name orbctl accepts and the
// library may act on: 2 to [MaxNameLen] characters matching
// ^[a-zA-Z0-9][a-zA-Z0-9-.]+$ and not a reserved name. The error wraps
// [backend.ErrInvalid].
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("machine name is empty: %w", backend.ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("machine name %q is %d characters, longer than %d: %w", name, len(name), MaxNameLen, backend.ErrInvalid)
	case !namePattern.MatchString(name):
		return fmt.Errorf("machine name %q must be at least 2 characters, start with a letter or digit and contain only letters, digits, '-' and '.': %w", name, backend.ErrInvalid)
	}
	for _, r := range reservedNames {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("machine name %q is reserved by OrbStack: %w", name, backend.ErrInvalid)
		}
	}
	return nil
}

// userPattern accepts Linux user names; orbctl passes -u through to the
// guest (run) or normalises it (create).
var userPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]*$`)

// maxUserLen is the longest user name accepted (orbctl truncates to 32).
const maxUserLen = 32

func validateUser(user string) error {
	if len(user) > maxUserLen || !userPattern.MatchString(user) {
		return fmt.Errorf("user %q must be at most %d characters, start with a letter or '_' and contain only letters, digits, '_', '.' and '-': %w", user, maxUserLen, backend.ErrInvalid)
	}
	return nil
}

// validateGuestPath checks an absolute path inside the machine.
func validateGuestPath(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s is empty: %w", what, backend.ErrInvalid)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%s %q contains a NUL byte: %w", what, p, backend.ErrInvalid)
	case !path.IsAbs(p):
		return fmt.Errorf("%s %q must be an absolute path in the machine: %w", what, p, backend.ErrInvalid)
	}
	return nil
}

// validateHostPath checks a path on the host; relative paths are allowed
// but must not look like a flag.
func validateHostPath(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s is empty: %w", what, backend.ErrInvalid)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%s %q contains a NUL byte: %w", what, p, backend.ErrInvalid)
	case strings.HasPrefix(p, "-"):
		return fmt.Errorf("%s %q starts with '-' and would be read as a flag; use an absolute or ./ path: %w", what, p, backend.ErrInvalid)
	}
	return nil
}
