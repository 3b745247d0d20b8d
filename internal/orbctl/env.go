package orbctl

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// envKeyPattern accepts portable environment variable names. ':' is
// ORBENV's separator, so it can never appear in a key.
var envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// OrbEnv is the variable naming, colon-separated, the host variables that
// orbctl run forwards into the machine.
const OrbEnv = "ORBENV"

// ExecEnv turns guest KEY=VALUE pairs into the environment additions for
// the orbctl process: each pair itself, then ORBENV=KEY1:KEY2..., which
// makes orbctl forward those variables into the machine. A key given twice
// keeps its last value. It returns nil for no pairs. Keys must match
// [A-Za-z_][A-Za-z0-9_]* and may not be ORBENV.
func ExecEnv(env []string) ([]string, error) {
	if len(env) == 0 {
		return nil, nil
	}
	values := map[string]string{}
	var keys []string
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("environment entry %q is not KEY=VALUE: %w", kv, backend.ErrInvalid)
		case !envKeyPattern.MatchString(k):
			return nil, fmt.Errorf("environment variable name %q must match [A-Za-z_][A-Za-z0-9_]*: %w", k, backend.ErrInvalid)
		case k == OrbEnv:
			return nil, fmt.Errorf("environment variable %s is reserved for orbctl's forwarding: %w", OrbEnv, backend.ErrInvalid)
		case strings.IndexByte(v, 0) >= 0:
			return nil, fmt.Errorf("environment variable %s contains a NUL byte: %w", k, backend.ErrInvalid)
		}
		if _, seen := values[k]; !seen {
			keys = append(keys, k)
		}
		values[k] = v
	}
	out := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, k+"="+values[k])
	}
	return append(out, OrbEnv+"="+strings.Join(keys, ":")), nil
}
