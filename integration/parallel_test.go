package integration_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

func token(t *testing.T) string {
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// TestParallelShared runs 12 parallel subtests on the one Shared machine of
// the base spec; each runs commands of every kind at the same time as the
// others and must see only its own input, output, environment and files.
func TestParallelShared(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	const n = 12
	var mu sync.Mutex
	names := map[string]int{}
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				vm := orbtest.NewVM(t, base, orbtest.Shared())
				mu.Lock()
				names[vm.Name()]++
				mu.Unlock()

				tok := token(t)
				dir := fmt.Sprintf("/tmp/orbtest-par-%s-%d", orbtest.RunID(), i)
				vm.MustRun(t, "mkdir", "-p", dir)
				for round := range 3 {
					want := fmt.Sprintf("%d %s %d", i, tok, round)
					res := vm.MustExec(t, orbtest.ShellCommand(`read -r line; echo "$line|$TOKEN|$(pwd)"; echo "err $TOKEN" >&2; echo "$line" >out.txt`).
						InDir(dir).
						WithEnv("TOKEN="+want).
						WithStdin(strings.NewReader(want+"\n")))
					assert.Equal(t, want+"|"+want+"|"+dir+"\n", res.Stdout)
					assert.Equal(t, "err "+want+"\n", res.Stderr)
					assert.Equal(t, want+"\n", vm.MustRun(t, "cat", dir+"/out.txt"))
				}

				host := filepath.Join(t.TempDir(), "in.txt")
				require.NoError(t, os.WriteFile(host, []byte(tok), 0o644))
				vm.MustPush(t, host, dir+"/pushed.txt")
				back := filepath.Join(t.TempDir(), "back.txt")
				vm.MustPull(t, dir+"/pushed.txt", back)
				got, err := os.ReadFile(back)
				require.NoError(t, err)
				assert.Equal(t, tok, string(got))

				_, err = vm.Shell(t.Context(), fmt.Sprintf("exit %d", 10+i))
				assert.Equal(t, 10+i, asExitError(t, err).ExitCode)
			})
		}
	})
	assert.Len(t, names, 1, "every Shared test got the same machine: %v", names)
	for _, c := range names {
		assert.Equal(t, n, c)
	}
}

// TestParallelPool runs parallel subtests that each lease a pool machine
// of their own: a lease is exclusive, and reset before the next test.
func TestParallelPool(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	const marker = "/root/orbtest-lease"
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			vm := orbtest.NewVM(t, base)
			tok := token(t)
			res, err := vm.Exec(t.Context(), orbtest.Command("cat", marker).AsUser("root"))
			if err == nil {
				t.Fatalf("found the marker %q of an earlier lease: the machine was not reset", res.Stdout)
			}
			assert.Equal(t, 1, asExitError(t, err).ExitCode)
			vm.MustExec(t, orbtest.ShellCommand("echo "+tok+" >"+marker).AsUser("root"))
			time.Sleep(500 * time.Millisecond) // give another lease of this machine a chance to show
			assert.Equal(t, tok+"\n", vm.MustExec(t, orbtest.Command("cat", marker).AsUser("root")).Stdout)
		})
	}
}
