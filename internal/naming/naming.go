// Package naming builds and reads the names of orbtest's machines. OrbStack
// has no labels, so a machine's name carries its ownership: the run that
// made it and what it is. Every name orbtest gives a machine is built here,
// and every decision about whose a machine is reads it here.
//
// A run's machines are named PREFIX-RUN-SPEC-RANDOM
// ("orbtest-3f9a1c2e-8b1d0f-a41c09"), its templates PREFIX-RUN-KEY-tpl.
// Names use lower-case letters, digits and '-' only, are at most 63
// characters, and are valid on OrbStack and Incus alike.
package naming

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Prefix starts the name of every machine orbtest creates; nothing orbtest
// deletes lacks it.
const Prefix = "orbtest"

// maxRunID bounds a run ID so that names stay within a DNS label.
const maxRunID = 16

// templateSuffix ends the name of a run's template.
const templateSuffix = "-tpl"

// Machine returns a new, random name for a machine of run whose spec
// fingerprint starts with spec.
func Machine(run, spec string) string {
	var r [3]byte
	_, _ = rand.Read(r[:])
	return Prefix + "-" + run + "-" + short(spec) + "-" + hex.EncodeToString(r[:])
}

// Template returns the name of run's template for pool key key.
func Template(run, key string) string {
	return Prefix + "-" + run + "-" + key[max(0, len(key)-6):] + templateSuffix
}

// short is the 6 characters of a fingerprint that a name shows.
func short(s string) string { return s[:min(6, len(s))] }

// IsOrbtest reports whether name is a machine orbtest made.
func IsOrbtest(name string) bool { return strings.HasPrefix(name, Prefix+"-") }

// IsTemplate reports whether name is a run's template.
func IsTemplate(name string) bool { return IsOrbtest(name) && strings.HasSuffix(name, templateSuffix) }

// RunOf returns the run ID in an orbtest machine name, or "" when name is
// not one of orbtest's.
func RunOf(name string) string {
	rest, ok := strings.CutPrefix(name, Prefix+"-")
	if !ok {
		return ""
	}
	run, _, ok := strings.Cut(rest, "-")
	if !ok {
		return ""
	}
	return run
}

// CleanRunID keeps of v what a machine name may hold: lower-case letters
// and digits, at most 16 of them; "run" when nothing is left.
func CleanRunID(v string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > maxRunID {
		s = s[:maxRunID]
	}
	if s == "" {
		s = "run"
	}
	return s
}
