package orbtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// NamePrefix starts the name of every machine orbtest creates. Machine
// names are NamePrefix + "-" + run ID + "-" + spec hash + "-" + random,
// such as "orbtest-3f9a1c2e-8b1d0f-a41c09": valid on OrbStack and Incus,
// and they carry ownership, since OrbStack has no labels.
const NamePrefix = "orbtest"

var runIDOnce = sync.OnceValue(computeRunID)

// RunID returns the ID of this test run: 8 hex digits shared by every
// package process of one `go test` invocation, taken from ORBTEST_RUN_ID
// when set, else derived from the parent process's ID and start time.
func RunID() string { return runIDOnce() }

func computeRunID() string {
	if v := strings.ToLower(strings.TrimSpace(os.Getenv("ORBTEST_RUN_ID"))); v != "" {
		return sanitizeRunID(v)
	}
	ppid := os.Getppid()
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s", ppid, processStart(ppid)))
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

// processStart returns an opaque token for when process pid started, so a
// reused pid gives another run ID.
func processStart(pid int) string {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err == nil {
			// Field 22 (starttime) counts from after the ")" that ends comm.
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i >= 0 {
				if f := strings.Fields(s[i+1:]); len(f) > 19 {
					return f[19]
				}
			}
		}
		return ""
	}
	out, err := exec.Command("ps", "-o", "lstart=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// machineName returns a fresh name for a machine of spec s.
func machineName(s Spec) string {
	var r [3]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%s-%s-%s", NamePrefix, RunID(), s.Fingerprint()[:6], hex.EncodeToString(r[:]))
}
