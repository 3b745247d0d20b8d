package env

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyEnvReadsTheEnvironment walks the module's non-test Go files and
// fails where one names an ORBTEST_* variable in a string literal (such as
// os.Getenv("ORBTEST_KEEP")): every variable is read through this package,
// under its constant. internal/fakeorbctl, a stand-in for orbctl with
// variables of its own, is not walked.
func TestOnlyEnvReadsTheEnvironment(t *testing.T) {
	root := filepath.Join("..", "..")
	skip := map[string]bool{
		filepath.Join(root, "internal", "env"):        true,
		filepath.Join(root, "internal", "fakeorbctl"): true,
	}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if skip[path] || name == "testdata" || name == "vendor" || (path != root && strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "ORBTEST_") {
				t.Errorf("%s: string literal %s names a variable: read it with env.Get and the constant in internal/env", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("walked %d non-test Go files under %s; the module root moved?", files, root)
	}
}
