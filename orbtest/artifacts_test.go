package orbtest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandsReport(t *testing.T) {
	got := commandsReport([]ran{
		{cmd: "true", code: 0, duration: 12 * time.Millisecond},
		{cmd: "sh -c 'exit 3'", code: 3, duration: 1500 * time.Microsecond},
		{cmd: "sleep 10", code: -1, duration: 3 * time.Millisecond, err: "context canceled"},
	})
	assert.Equal(t, "exit 0 in 12ms: true\nexit 3 in 2ms: sh -c 'exit 3'\nnot run (context canceled) after 3ms: sleep 10\n", got)
	assert.Empty(t, commandsReport(nil))
}

// artifactTB is a fakeTB with an artifact directory.
type artifactTB struct {
	*fakeTB
	dir    string
	called bool
}

func (a *artifactTB) ArtifactDir() string { a.called = true; return a.dir }

func TestAFailedTestLeavesArtifacts(t *testing.T) {
	for _, tc := range []struct {
		reason    string
		artifacts bool // go test -artifacts
		fail      bool
		want      bool
	}{
		{"failed with -artifacts", true, true, true},
		{"failed without -artifacts", false, true, false},
		{"passed with -artifacts", true, false, false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			d := newCloningDriver()
			d.exec = func(m *memMachine, argv []string) (int, string, string) {
				switch argv[0] {
				case "journalctl":
					return 0, "Dec 01 boot: kvstore.service: Failed with result 'exit-code'.\n", ""
				case "systemctl":
					return 3, "× kvstore.service - kvstore\n", ""
				case "false":
					return 1, "", ""
				}
				return 0, "", ""
			}
			at := &artifactTB{fakeTB: newFakeTB(), dir: t.TempDir()}
			var name string
			at.run(func(tb testing.TB) {
				vm := NewVM(at, Debian("bookworm"), testRun(t, d), withArtifacts(tc.artifacts))
				name = vm.Name()
				vm.Run(t.Context(), "false")
				vm.Run(t.Context(), "echo", "hi")
				if tc.fail {
					tb.Error("boom")
				}
			})
			dir := filepath.Join(at.dir, name)
			if !tc.want {
				assert.NoDirExists(t, dir)
				assert.False(t, at.called, "ArtifactDir was called: without -artifacts it would be a temporary directory")
				return
			}
			journal, err := os.ReadFile(filepath.Join(dir, "journal.txt"))
			require.NoError(t, err)
			assert.Contains(t, string(journal), "kvstore.service: Failed")
			failed, _ := os.ReadFile(filepath.Join(dir, "failed-units.txt"))
			assert.Contains(t, string(failed), "× kvstore.service")
			commands, _ := os.ReadFile(filepath.Join(dir, "commands.txt"))
			assert.Regexp(t, regexp.MustCompile(`^exit 1 in \d+m?s: false\nexit 0 in \d+m?s: echo hi\n$`), string(commands))
			assert.Contains(t, at.log(), "orbtest: machine "+name+": the test failed; its journal, failed units, console log and commands are in "+dir)
		})
	}
}
