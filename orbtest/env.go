package orbtest

import (
	"errors"

	"github.com/orbtest/go-orbtest/internal/env"
)

// The environment is read in one place, internal/env, whose list of
// variables is the README's table; these are the library's readers.

func envBackend() string { return env.Choice() }

func envKeep() Keep {
	if v := env.Lower(env.Keep); v != "" {
		return Keep(v)
	}
	return KeepNever
}

func envRequire() bool { return env.Bool(env.Require) }

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
