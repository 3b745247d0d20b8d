package orbctl

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// MaxNameLen is the longest machine name the builders accept. orbctl's own
// pattern has no limit; 63 keeps NAME.orb.local a valid DNS label.
const MaxNameLen = 63

// namePattern is orbctl's machine-name pattern (OrbStack's CLI reference,
// ../shared/reference/orbctl.md §3.3).
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

// validateHostPath is [backend.CheckHostPath] for a path orbctl takes as
// a plain argument, where one that starts with '-' would be read as a flag.
func validateHostPath(p string) error {
	if err := backend.CheckHostPath(p); err != nil {
		return err
	}
	if strings.HasPrefix(p, "-") {
		return fmt.Errorf("host path %q starts with '-' and would be read as a flag; use an absolute or ./ path: %w", p, backend.ErrInvalid)
	}
	return nil
}
