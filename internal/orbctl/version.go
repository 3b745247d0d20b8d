package orbctl

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// Version is an installed orbctl version, parsed from `orbctl version`.
type Version struct {
	Major, Minor, Patch int
	Build               int    // the number in parentheses, e.g. 2020300; 0 when absent
	Commit              string // first word of the Commit line; empty when absent
	Raw                 string // the version as printed, e.g. "2.2.3"
}

// String returns the version as orbctl printed it, or "unknown" for the zero
// Version.
func (v Version) String() string {
	if v.Raw != "" {
		return v.Raw
	}
	if v == (Version{}) {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// ParseVersion parses the output of `orbctl version`:
//
//	Version: 2.2.3 (2020300)
//	Commit: 0123abcd (v2.2.3)
//
// Only the Version line is required; suffixes such as "-rc1" are kept in Raw
// and ignored for comparisons.
func ParseVersion(out []byte) (Version, error) {
	var v Version
	found := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		switch strings.TrimSpace(key) {
		case "Version":
			if len(fields) == 0 {
				return Version{}, fmt.Errorf("parse orbctl version: empty Version line")
			}
			if err := parseSemver(fields[0], &v); err != nil {
				return Version{}, err
			}
			if len(fields) > 1 {
				if n, err := strconv.Atoi(strings.Trim(fields[1], "()")); err == nil {
					v.Build = n
				}
			}
			found = true
		case "Commit":
			if len(fields) > 0 {
				v.Commit = fields[0]
			}
		}
	}
	if !found {
		return Version{}, fmt.Errorf("parse orbctl version: no Version line in %q", truncate(string(out), 200))
	}
	return v, nil
}

func parseSemver(s string, v *Version) error {
	v.Raw = s
	core := strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(core, "-+ "); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("parse orbctl version: %q is not MAJOR.MINOR[.PATCH]", s)
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return fmt.Errorf("parse orbctl version: %q is not MAJOR.MINOR[.PATCH]", s)
		}
		nums[i] = n
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return nil
}

// Minimum OrbStack versions of the features the library uses.
var (
	minClone     = Version{Major: 2, Minor: 0, Raw: "2.0"}
	minIsolated  = Version{Major: 2, Minor: 1, Raw: "2.1"}
	minLimits    = Version{Major: 2, Minor: 2, Raw: "2.2"}
	minCloudInit = Version{Major: 1, Minor: 3, Raw: "1.3"} // inferred from the commit date of -c
)

// Features is what an installed orbctl can do, derived from its version by
// [FeaturesFor]. The zero Features allows nothing optional.
type Features struct {
	Version   Version // the installed version the features were derived from
	Clone     bool    // `orbctl clone` (2.0)
	Isolated  bool    // `create --isolated` (2.1)
	Limits    bool    // `create --cpus/--memory/--disk` (2.2)
	CloudInit bool    // `create -c USER_DATA` (1.3, inferred)
}

// FeaturesFor returns the features of orbctl version v.
func FeaturesFor(v Version) Features {
	at := func(min Version) bool { return v.AtLeast(min.Major, min.Minor) }
	return Features{
		Version:   v,
		Clone:     at(minClone),
		Isolated:  at(minIsolated),
		Limits:    at(minLimits),
		CloudInit: at(minCloudInit),
	}
}

// Backend converts f to the backend-neutral feature list. OrbStack has no
// snapshots.
func (f Features) Backend() []string {
	var names []string
	for _, x := range []struct {
		name string
		ok   bool
	}{{"isolated", f.Isolated}, {"limits", f.Limits}, {"cloud-init", f.CloudInit}} {
		if x.ok {
			names = append(names, x.name)
		}
	}
	return names
}

// unsupported builds the error for a feature the installed version lacks;
// need is the subject and verb, e.g. "machine clones need".
func (f Features) unsupported(need string, min Version) error {
	return fmt.Errorf("%s OrbStack %s or later; installed %s: %w", need, min, f.Version, backend.ErrUnsupported)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
