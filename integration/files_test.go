package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/orbtest"
)

// guestSHA256 returns the sha256 of a file in the machine.
func guestSHA256(t *testing.T, vm *orbtest.VM, path string) string {
	t.Helper()
	out := vm.MustRun(t, "sha256sum", path)
	sum, _, ok := strings.Cut(out, " ")
	require.True(t, ok, "sha256sum output %q", out)
	return sum
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func TestPushPull(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test: -short skips real machines")
	}
	t.Parallel()
	vm := orbtest.NewVM(t, base)
	dir := t.TempDir()

	t.Run("odd names", func(t *testing.T) {
		content := "content of a file with an odd name: ünïcødé ✓\n"
		host := filepath.Join(dir, `host 'single' "double" ünïcødé ✓ $HOME;*.txt`)
		require.NoError(t, os.WriteFile(host, []byte(content), 0o644))
		guestDir := `/tmp/dir with space/it's "q" ünï ✓`
		guest := guestDir + `/guest 'single' "double" ünï ✓ $HOME;*.txt`
		vm.MustRun(t, "mkdir", "-p", guestDir)

		vm.MustPush(t, host, guest)
		assert.Equal(t, content, vm.MustRun(t, "cat", guest))
		ls := vm.MustRun(t, "ls", guestDir)
		assert.Equal(t, `guest 'single' "double" ünï ✓ $HOME;*.txt`+"\n", ls, "exactly one file, named as asked")

		back := filepath.Join(dir, `pulled back 'é' "x" ✓;.txt`)
		vm.MustPull(t, guest, back)
		got, err := os.ReadFile(back)
		require.NoError(t, err)
		assert.Equal(t, content, string(got))
	})

	t.Run("all byte values", func(t *testing.T) {
		data := append(bytes.Repeat(allBytes(), 4), allBytes()...) // ends in 0xff, no newline
		host := filepath.Join(dir, "bytes.bin")
		require.NoError(t, os.WriteFile(host, data, 0o644))
		require.NoError(t, vm.Push(t.Context(), host, "/tmp/bytes.bin"))
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), guestSHA256(t, vm, "/tmp/bytes.bin"))
		assert.Equal(t, "1280\n", vm.MustRun(t, "stat", "-c", "%s", "/tmp/bytes.bin"))

		back := filepath.Join(dir, "bytes-back.bin")
		require.NoError(t, vm.Pull(t.Context(), "/tmp/bytes.bin", back))
		got, err := os.ReadFile(back)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "pulled bytes differ")
	})

	t.Run("overwrite", func(t *testing.T) {
		host := filepath.Join(dir, "over.txt")
		require.NoError(t, os.WriteFile(host, []byte("first, and longer\n"), 0o644))
		vm.MustPush(t, host, "/tmp/over.txt")
		require.NoError(t, os.WriteFile(host, []byte("second\n"), 0o644))
		vm.MustPush(t, host, "/tmp/over.txt")
		assert.Equal(t, "second\n", vm.MustRun(t, "cat", "/tmp/over.txt"))

		vm.MustShell(t, "echo from guest >/tmp/over.txt")
		vm.MustPull(t, "/tmp/over.txt", host)
		got, err := os.ReadFile(host)
		require.NoError(t, err)
		assert.Equal(t, "from guest\n", string(got), "Pull replaces the host file")
	})

	t.Run("50 MB host to guest", func(t *testing.T) {
		host := filepath.Join(dir, "big-up.bin")
		f, err := os.Create(host)
		require.NoError(t, err)
		_, err = io.CopyN(f, rand.Reader, 50<<20)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		want := fileSHA256(t, host)

		vm.MustPush(t, host, "/tmp/big-up.bin")
		assert.Equal(t, want, guestSHA256(t, vm, "/tmp/big-up.bin"))

		back := filepath.Join(dir, "big-up-back.bin")
		vm.MustPull(t, "/tmp/big-up.bin", back)
		assert.Equal(t, want, fileSHA256(t, back))
	})

	t.Run("50 MB guest to host", func(t *testing.T) {
		vm.MustShell(t, "head -c 52428800 /dev/urandom >/tmp/big-down.bin")
		want := guestSHA256(t, vm, "/tmp/big-down.bin")
		host := filepath.Join(dir, "big-down.bin")
		vm.MustPull(t, "/tmp/big-down.bin", host)
		fi, err := os.Stat(host)
		require.NoError(t, err)
		assert.Equal(t, int64(50<<20), fi.Size())
		assert.Equal(t, want, fileSHA256(t, host))
	})

	t.Run("errors", func(t *testing.T) {
		host := filepath.Join(dir, "exists.txt")
		require.NoError(t, os.WriteFile(host, []byte("x"), 0o644))

		err := vm.Pull(t.Context(), "/tmp/orbtest-no-such-file", filepath.Join(dir, "never.txt"))
		require.Error(t, err, "pulling a missing file")
		assert.Contains(t, err.Error(), "/tmp/orbtest-no-such-file")
		var xe *orbtest.ExitError
		assert.False(t, errors.As(err, &xe))

		err = vm.Push(t.Context(), filepath.Join(dir, "no-such-host-file"), "/tmp/x")
		require.Error(t, err, "pushing a missing host file")
		assert.Contains(t, err.Error(), "no-such-host-file")

		err = vm.Push(t.Context(), host, "/orbtest-no-such-dir/sub/x.txt")
		assert.Error(t, err, "pushing into a missing guest directory")

		// A relative guest path is refused before the machine is touched:
		// with a cancelled context, any attempt to reach it would fail with
		// context.Canceled instead.
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		for _, p := range []string{"tmp/x.txt", "x.txt", "", "./x"} {
			err = vm.Push(cancelled, host, p)
			require.Error(t, err, "push to %q", p)
			assert.Contains(t, err.Error(), "not absolute", "push to %q", p)
			assert.NotErrorIs(t, err, context.Canceled)

			err = vm.Pull(cancelled, p, filepath.Join(dir, "never.txt"))
			require.Error(t, err, "pull from %q", p)
			assert.Contains(t, err.Error(), "not absolute", "pull from %q", p)
			assert.NotErrorIs(t, err, context.Canceled)
		}
		msg := fatalOf(t, func(tb testing.TB) { vm.MustPush(tb, host, "relative.txt") })
		assert.Contains(t, msg, "not absolute")
		msg = fatalOf(t, func(tb testing.TB) { vm.MustPull(tb, "/tmp/orbtest-no-such-file", filepath.Join(dir, "never.txt")) })
		assert.Contains(t, msg, "/tmp/orbtest-no-such-file")
	})
}
