package orbctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/orbtest/go-orbtest/internal/backend"
)

// EnvOrbctl names the environment variable that overrides which orbctl the
// driver runs.
const EnvOrbctl = "ORBTEST_ORBCTL"

// Find returns the absolute path of the orbctl to run: $ORBTEST_ORBCTL when
// set (a path to an executable, or a name looked up in PATH), else "orbctl"
// looked up in PATH. Failures wrap [backend.ErrUnavailable].
func Find() (string, error) {
	if p := os.Getenv(EnvOrbctl); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q is not an executable orbctl: %w: %w", EnvOrbctl, p, backend.ErrUnavailable, err)
		}
		return filepath.Abs(path)
	}
	path, err := exec.LookPath("orbctl")
	if err != nil {
		return "", fmt.Errorf("orbctl not found in PATH; install OrbStack or set %s: %w: %w", EnvOrbctl, backend.ErrUnavailable, err)
	}
	return filepath.Abs(path)
}
