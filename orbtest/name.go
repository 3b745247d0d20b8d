package orbtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// NamePrefix starts the name of every machine orbtest creates. Machine
// names are NamePrefix + "-" + run ID + "-" + spec hash + "-" + random,
// such as "orbtest-3f9a1c2e-8b1d0f-a41c09": valid on OrbStack and Incus,
// and they carry ownership, since OrbStack has no labels.
const NamePrefix = "orbtest"

var runIDOnce = sync.OnceValue(computeRunID)

// RunID returns the ID of this test run: 8 hex digits shared by every
// package process of one `go test` invocation, taken from ORBTEST_RUN_ID
// when set, else derived from the ID and start time of the run's owner
// (the go command, or this process when it runs on its own).
func RunID() string { return runIDOnce() }

func computeRunID() string {
	if v := env.Lower(env.RunID); v != "" {
		return sanitizeRunID(v)
	}
	pid, start := runstate.Owner()
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s", pid, start))
	return hex.EncodeToString(h[:4])
}

// sanitizeRunID keeps what is valid in a machine name.
func sanitizeRunID(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 16 {
		s = s[:16]
	}
	if s == "" {
		s = "run"
	}
	return s
}

// machineName returns a fresh name for a machine of spec s.
func machineName(s Spec) string {
	var r [3]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%s-%s-%s", NamePrefix, RunID(), s.Fingerprint()[:6], hex.EncodeToString(r[:]))
}
