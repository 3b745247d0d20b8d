package orbtest

import (
	"errors"
	"os"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backends"
)

// The environment variables orbtest reads. The README has the table.
const (
	envKeepVar    = "ORBTEST_KEEP"    // never (default), failed or always
	envRequireVar = "ORBTEST_REQUIRE" // 1: fail instead of skip without a backend
)

func envBackend() string { return backends.Choice() }

func envKeep() Keep {
	if v := strings.TrimSpace(os.Getenv(envKeepVar)); v != "" {
		return Keep(strings.ToLower(v))
	}
	return KeepNever
}

func envRequire() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(envRequireVar))) {
	case "1", "true", "yes":
		return true
	}
	return false
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
