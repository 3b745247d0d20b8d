package orbctl

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/internal/cli"
)

// stub is a shell-script orbctl in a temp dir. It records each call's argv
// (arguments end with US, calls with RS and a newline) and answers from files: resp/SUB.sh is sourced first (with the call's
// arguments), then resp/SUB.out and resp/SUB.err are printed and
// resp/SUB.code is the exit code (default 0), where SUB is the first
// argument.
type stub struct {
	dir  string
	path string
}

const stubScript = `#!/bin/sh
d=%DIR%
line=""
for a in "$@"; do line="$line$a$(printf '\037')"; done
printf '%s\036\n' "$line" >> "$d/calls.log"
sub="$1"
[ -f "$d/resp/$sub.sh" ] && . "$d/resp/$sub.sh"
[ -f "$d/resp/$sub.out" ] && cat "$d/resp/$sub.out"
[ -f "$d/resp/$sub.err" ] && cat "$d/resp/$sub.err" >&2
code=0
[ -f "$d/resp/$sub.code" ] && code=$(cat "$d/resp/$sub.code")
exit "$code"
`

func newStub(t *testing.T) *stub {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "resp"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &stub{dir: dir, path: filepath.Join(dir, "orbctl")}
	script := strings.ReplaceAll(stubScript, "%DIR%", cli.Quote(dir))
	if err := os.WriteFile(s.path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// running makes status and version answer like a running OrbStack ver.
func (s *stub) running(t *testing.T, ver string) *stub {
	t.Helper()
	s.respond(t, "status", "Running\n", "", 0)
	s.respond(t, "version", "Version: "+ver+" (2020300)\nCommit: 0123abcd (v"+ver+")\n", "", 0)
	return s
}

func (s *stub) respond(t *testing.T, sub, stdout, stderr string, code int) {
	t.Helper()
	s.write(t, sub+".out", stdout)
	s.write(t, sub+".err", stderr)
	s.write(t, sub+".code", strconv.Itoa(code))
}

// guest makes run execute its command on this host, in /, as a machine
// would: the guard runs for real.
func (s *stub) guest(t *testing.T) {
	t.Helper()
	s.script(t, "run", `while [ "$1" != /bin/sh ]; do shift; done; cd / && exec "$@"`+"\n")
}

// script sets shell code sourced for sub.
func (s *stub) script(t *testing.T, sub, body string) { t.Helper(); s.write(t, sub+".sh", body) }

func (s *stub) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "resp", name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// calls returns the argv of every call so far.
func (s *stub) calls(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\x1e\n"), "\x1e\n") {
		out = append(out, strings.Split(strings.TrimSuffix(line, "\x1f"), "\x1f"))
	}
	return out
}

// callsOf returns the calls whose first argument is sub.
func (s *stub) callsOf(t *testing.T, sub string) [][]string {
	t.Helper()
	var out [][]string
	for _, c := range s.calls(t) {
		if len(c) > 0 && c[0] == sub {
			out = append(out, c)
		}
	}
	return out
}

func (s *stub) file(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
