package orbctl

import (
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/env"
)

// Find returns the absolute path of the orbctl to run: $ORBTEST_ORBCTL when
// set (a path to an executable, or a name looked up in PATH), else "orbctl"
// looked up in PATH (see [cli.Find]). Failures wrap
// backend.ErrUnavailable.
func Find() (string, error) { return cli.Find("orbctl", env.Orbctl, "install OrbStack") }
