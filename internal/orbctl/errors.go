package orbctl

import (
	"regexp"
	"strings"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/cli"
)

// classRule maps orbctl error text to an error class.
type classRule struct {
	class error
	re    *regexp.Regexp
}

// classRules is checked in order, so the specific permanent classes come
// before the broad transient ones. The texts are those orbctl prints on
// stderr (OrbStack's CLI reference, ../shared/reference/orbctl.md §2.5);
// matching is case-insensitive and runs on the message with quoted machine
// names removed.
var classRules = []classRule{
	{backend.ErrNotFound, regexp.MustCompile(`(?i)machine not found|no machines? found`)},
	{backend.ErrExists, regexp.MustCompile(`(?i)already exists`)},
	{backend.ErrInvalid, regexp.MustCompile(`(?i)invalid machine name|invalid distro|invalid architecture|image not found|cloud-init not supported|unknown (shorthand )?flag|invalid format|invalid argument`)},
	{backend.ErrUnsupported, regexp.MustCompile(`(?i)unknown command`)},
	{backend.ErrUnavailable, regexp.MustCompile(`(?i)start VM: timed out|timed out waiting for (VM|services)|OrbStack is not running|VM exited unexpectedly`)},
	{backend.ErrTransient, regexp.MustCompile(`(?i)missing IP address|didn't start in|timed out waiting for network|download|fetch index|bad gateway|\b50[234]\b|\bEOF\b|context deadline exceeded|cannot transition from|machine manager is stopping|i/o timeout|connection reset`)},
}

// quoted matches a single-quoted span, where orbctl puts machine names, so
// a machine called "download-eof" cannot change a classification.
var quoted = regexp.MustCompile(`'[^'\n]*'`)

// ansi matches terminal colour sequences (orbctl colours its errors when
// stderr is a terminal).
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// Classify returns the error class ([backend.ErrNotFound],
// [backend.ErrExists], [backend.ErrInvalid], [backend.ErrUnsupported],
// [backend.ErrUnavailable] or [backend.ErrTransient]) of an orbctl failure
// from its exit code and the error text it printed on stderr, or nil when
// the command succeeded or the text is not recognised. It never looks at
// the command line.
func Classify(exitCode int, stderr string) error {
	if exitCode == 0 {
		return nil
	}
	msg := quoted.ReplaceAllString(ansi.ReplaceAllString(stderr, ""), "''")
	for _, r := range classRules {
		if r.re.MatchString(msg) {
			return r.class
		}
	}
	return nil
}

// wrapErr adds "orbctl", the operation and the error class to err (see
// [cli.Wrap]); what is the operation and its subject, e.g. `create "x"`.
func wrapErr(what string, err error) error { return cli.Wrap("orbctl "+what, err, Classify) }

// classifyLastLine is [Classify] of the last line of stderr only: orbctl's
// own line after a guest command's output.
func classifyLastLine(exitCode int, stderr string) error {
	return Classify(exitCode, lastLine(stderr))
}

// rpcError matches the JSON-RPC form orbctl prints daemon errors in:
// "[-32098] machine not found: 'x'".
var rpcError = regexp.MustCompile(`^\[-\d+\] `)

// orbctlFailedRun reports whether a run that exited with exitCode and
// stderr failed in orbctl itself rather than in the guest command. orbctl
// and the guest share the exit code and stderr, so this is a heuristic:
// orbctl exits 1 after printing its error as the last line of stderr, and
// that line is either a daemon error in JSON-RPC form ("[-32098] machine
// not found: 'x'") or one of the messages orbctl prints when OrbStack
// cannot be started. A guest command that exits 1 after printing such a
// line is misread as an orbctl failure; a transport failure orbctl reports
// in another form is misread as a guest exit code of 1.
func orbctlFailedRun(exitCode int, stderr string) bool {
	if exitCode != 1 {
		return false
	}
	line := lastLine(ansi.ReplaceAllString(stderr, ""))
	if rpcError.MatchString(line) {
		return true
	}
	return Classify(exitCode, line) == backend.ErrUnavailable
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
