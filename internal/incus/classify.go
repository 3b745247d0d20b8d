package incus

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
	"github.com/orbtest/go-orbtest/internal/cmdrun"
)

// SetupHint is appended to errors about a missing image.
const SetupHint = "run scripts/setup-incus.sh to import a local image, or give a distro/version the image server has"

// rule maps a fragment of an incus error message (matched lowercased) to an
// error class. Rules are tried in order; the first match wins.
type rule struct {
	fragment string
	class    error
}

// rules were collected from incus 6.0 by running it (see testdata/stderr.tsv).
var rules = []rule{
	// The daemon or the remote cannot be reached.
	{"doesn't appear to be started", backend.ErrUnavailable},
	{"unix.socket", backend.ErrUnavailable},
	{"connection refused", backend.ErrUnavailable},
	{"not authorized", backend.ErrUnavailable},
	{"certificate", backend.ErrUnavailable},

	// Images: a missing local alias and an unreachable image server.
	{"failed getting remote image info", backend.ErrTransient},
	{"failed parsing stream", backend.ErrTransient},
	{"image \"", backend.ErrInvalid},  // Image "debian/bookworm" not found
	{"remote \"", backend.ErrInvalid}, // The remote "x" doesn't exist

	// Names. Incus reports a taken name as a database constraint.
	{"unique constraint failed", backend.ErrExists},
	{"already exists", backend.ErrExists},
	{"instance not found", backend.ErrNotFound},
	{"snapshot not found", backend.ErrNotFound}, // "Instance_snapshot not found"
	{"file does not exist", backend.ErrInvalid}, // a guest path, not a machine
	{"does not exist", backend.ErrNotFound},     // "Snapshot a/s does not exist"
	{"is not running", backend.ErrInvalid},
	{"is already running", backend.ErrInvalid},
	{"is already stopped", backend.ErrInvalid},
	{"invalid instance name", backend.ErrInvalid},
	{"invalid snapshot name", backend.ErrInvalid},

	// State transitions and load.
	{"is busy running a", backend.ErrTransient},
	{"operation in progress", backend.ErrTransient},
	{"timeout", backend.ErrTransient},
	{"timed out", backend.ErrTransient},
	{"deadline exceeded", backend.ErrTransient},
	{"connection reset", backend.ErrTransient},
	{"temporary failure", backend.ErrTransient},
	{"no such host", backend.ErrTransient},
	{"failed to fetch", backend.ErrTransient},
	{"unexpected eof", backend.ErrTransient},

	// Bad input that reached incus.
	{"invalid", backend.ErrInvalid},
	{"failed parsing", backend.ErrInvalid},
	{"unknown flag", backend.ErrInvalid},
	{"unknown shorthand flag", backend.ErrInvalid},
	{"unknown command", backend.ErrInvalid},
	{"not supported", backend.ErrUnsupported},
	{"no such file or directory", backend.ErrInvalid},
	{"not found", backend.ErrNotFound},
}

// Classify returns the error class for an incus error message (its stderr),
// or nil when the message matches no rule.
func Classify(stderr string) error {
	msg := strings.ToLower(errorLine(stderr))
	if msg == "" {
		return nil
	}
	for _, r := range rules {
		if strings.Contains(msg, r.fragment) {
			return r.class
		}
	}
	return nil
}

// errorLine is the last "Error: " line of stderr without the prefix, or,
// when there is none, the last non-empty line.
func errorLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "Error: "); ok {
			return msg
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// incusError reports whether stderr ends the way the incus client ends a
// failure: a line "Error: ...", optionally followed by its hint
// "Try `incus info --show-log NAME` for more info".
func incusError(stderr string) (string, bool) {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := len(lines) - 1
	if last > 0 && strings.HasPrefix(lines[last], "Try `incus ") {
		last--
	}
	msg, ok := strings.CutPrefix(strings.TrimSpace(lines[last]), "Error: ")
	if !ok {
		return "", false
	}
	return msg, true
}

// isImageError reports whether msg is about a missing or unreachable image.
func isImageError(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "image \"") || strings.Contains(m, "remote image") ||
		strings.Contains(m, "failed parsing stream")
}

// wrap turns a failed incus run into the driver's error (see [cli.Wrap]):
//
//	incus VERB "NAME": CLASS: command "incus ..." exited 1: Error: ...
func wrap(verb, name string, err error) error {
	return wrapAs(fmt.Sprintf("incus %s %q", verb, name), err)
}

// wrapAs is wrap with a ready-made context such as `incus copy "a" to "b"`.
func wrapAs(what string, err error) error { return cli.Wrap(what, err, classify) }

// classify is [Classify] as a [cli.Classifier]; the class of a missing or
// unreachable image carries [SetupHint].
func classify(_ int, stderr string) error {
	class := Classify(stderr)
	if class != nil && isImageError(stderr) {
		return fmt.Errorf("%w (%s)", class, SetupHint)
	}
	return class
}

// macTakenRE matches the start validation Incus fails when another
// instance's NIC, running or stopped, has the MAC address of one of the
// instance's NICs. Incus picks a NIC's address at random when it creates
// the instance and never picks again by itself.
var macTakenRE = regexp.MustCompile(`^Failed start validation for device "([^"]+)": MAC address "[^"]*" already defined on another NIC$`)

// takenMAC reports the NIC device of that failure when stderr is one.
func takenMAC(stderr string) (device string, ok bool) {
	m := macTakenRE.FindStringSubmatch(errorLine(stderr))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// stderrOf is the stderr of the incus call whose failure err is, or "".
func stderrOf(err error) string {
	var ce *cmdrun.CommandError
	if !errors.As(err, &ce) || ce.ExitCode < 0 {
		return ""
	}
	return ce.Stderr
}
