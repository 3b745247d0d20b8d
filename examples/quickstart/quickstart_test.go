// Package quickstart is the README's quick start, as it stands: a test
// here fails when the two differ.
package quickstart

import (
	"os"
	"strings"
	"testing"

	"github.com/orbtest/go-orbtest/orbtest"
)

func TestInstaller(t *testing.T) {
	t.Parallel()
	vm := orbtest.NewVM(t, orbtest.Debian("bookworm").WithSetup("apt-get update && apt-get install -y curl"))
	out := vm.MustRun(t, "curl", "--version")
	if !strings.Contains(out, "curl") {
		t.Errorf("curl --version = %q", out)
	}
}

// TestREADMEIsThisFile checks that the README's quick start is the code
// above, word for word, and the package doc's too.
func TestREADMEIsThisFile(t *testing.T) {
	self, err := os.ReadFile("quickstart_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, fn, _ := strings.Cut(string(self), "\nfunc TestInstaller(")
	fn, _, _ = strings.Cut(fn, "\n}\n")
	want := "func TestInstaller(" + fn + "\n}"

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\nimport \"github.com/orbtest/go-orbtest/orbtest\"\n\n")
	block, _, _ = strings.Cut(block, "\n```")
	if !ok || block != want {
		t.Errorf("the README's quick start differs from examples/quickstart:\nREADME:\n%s\n\nhere:\n%s", block, want)
	}

	doc, err := os.ReadFile("../../orbtest/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(want) {
		lines = append(lines, strings.TrimRight("//\t"+line, "\n"))
	}
	if !strings.Contains(string(doc), strings.Join(lines, "\n")) {
		t.Errorf("the package doc's quick start differs from examples/quickstart; want in orbtest/doc.go:\n%s", strings.Join(lines, "\n"))
	}
}
