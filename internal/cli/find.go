package cli

import (
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
)

// Find returns the absolute path of the tool to run. When the environment
// variable named variable (one of internal/env's, such as [env.Orbctl]) is
// set, its value is the tool: a path to an executable, or a name looked up
// in PATH. Otherwise program is looked up in PATH. The error wraps
// [backend.ErrUnavailable] and says which variable to set; install tells
// how to get the tool ("install OrbStack").
func Find(program, variable, install string) (string, error) {
	if p := env.Get(variable); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q is not an executable %s; set it to a path, or to a name in PATH: %w: %w", variable, p, program, backend.ErrUnavailable, err)
		}
		return filepath.Abs(path)
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH; %s, or set %s to its path: %w: %w", program, install, variable, backend.ErrUnavailable, err)
	}
	return filepath.Abs(path)
}
