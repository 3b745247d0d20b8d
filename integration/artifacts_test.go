package integration_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

const artifactChildEnv = "INTEGRATION_ARTIFACT_CHILD"

// TestArtifactChild is the failing test TestFailedTestLeavesItsJournal
// runs in a child process.
func TestArtifactChild(t *testing.T) {
	if os.Getenv(artifactChildEnv) != "1" {
		t.Skip("skipping test: TestFailedTestLeavesItsJournal runs it in a child process")
	}
	vm := orbtest.NewVM(t, base)
	vm.MustRun(t, "echo", "a command the artifacts list")
	t.Error("failing on purpose")
}

func TestFailedTestLeavesItsJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestArtifactChild$", "-test.v", "-test.artifacts", "-test.outputdir="+out)
	cmd.Env = append(os.Environ(), artifactChildEnv+"=1")
	b, err := cmd.CombinedOutput()
	require.Error(t, err, "the child passed:\n%s", b)
	assert.Contains(t, string(b), "the test failed; its journal, failed units, console log and commands are in "+out)

	found := map[string]string{}
	require.NoError(t, filepath.WalkDir(filepath.Join(out, "_artifacts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			found[d.Name()] = string(data)
		}
		return err
	}), "child output:\n%s", b)
	assert.Contains(t, found["journal.txt"], "systemd", "the journal of the boot")
	assert.Contains(t, found, "failed-units.txt")
	assert.Contains(t, found["commands.txt"], "exit 0 in ")
	assert.Contains(t, found["commands.txt"], "echo 'a command the artifacts list'")
}
