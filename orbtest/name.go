package orbtest

import (
	"fmt"
	"sync"

	"crypto/sha256"
	"encoding/hex"

	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// NamePrefix starts the name of every machine orbtest creates. Machine
// names are NamePrefix + "-" + run ID + "-" + spec hash + "-" + random,
// such as "orbtest-3f9a1c2e-8b1d0f-a41c09": valid on OrbStack and Incus,
// and they carry ownership, since OrbStack has no labels.
const NamePrefix = naming.Prefix

var runIDOnce = sync.OnceValue(computeRunID)

// RunID returns the ID of this test run: 8 hex digits shared by every
// package process of one `go test` invocation, taken from ORBTEST_RUN_ID
// when set, else derived from the ID and start time of the run's owner
// (the go command, or this process when it runs on its own).
func RunID() string { return runIDOnce() }

func computeRunID() string {
	if v := env.Get(env.RunID); v != "" {
		return naming.CleanRunID(v)
	}
	pid, start := runstate.Owner()
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s", pid, start))
	return hex.EncodeToString(h[:4])
}

// machineName returns a fresh name for a machine of spec s.
func machineName(s Spec) string { return naming.Machine(RunID(), s.Fingerprint()) }
