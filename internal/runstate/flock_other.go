//go:build !unix

package runstate

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("orbtest: machine pools need a unix host (flock)")

func lockFile(*os.File, bool, bool) (bool, error) { return false, errNoFlock }
func unlockFile(*os.File) error                   { return errNoFlock }
func alive(int) bool                              { return false }
