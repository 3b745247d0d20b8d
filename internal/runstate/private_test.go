package runstate

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrivacyProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    fs.FileMode
		uid, me int
		want    string
		reason  string
	}{
		{"private", fs.ModeDir | 0o700, 5, 5, "", "the user's own, closed"},
		{"readable", fs.ModeDir | 0o755, 5, 5, "readable", "tightened by its owner"},
		{"group writable", fs.ModeDir | 0o770, 5, 5, "writable by other users (mode 0770)", "others could forge records"},
		{"world writable", fs.ModeDir | 0o777, 5, 5, "writable by other users (mode 0777)", "like /tmp itself"},
		{"other owner", fs.ModeDir | 0o700, 0, 5, "owned by another user (uid 0)", "root's directory for a user"},
		{"unknown owner", fs.ModeDir | 0o700, -1, 5, "", "no owner to compare"},
		{"symlink", fs.ModeSymlink | 0o777, 5, 5, "not a directory (a symbolic link or a file)", "a link could point anywhere"},
	} {
		assert.Equal(t, tc.want, privacyProblem(tc.mode, tc.uid, tc.me), "%s: %s", tc.name, tc.reason)
	}
}

func TestStateIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared", "state")
	r, err := OpenRun(dir, "r1", RunInfo{OwnerPID: os.Getpid()})
	require.NoError(t, err)
	require.NoError(t, r.WithLock(func(tx *Tx) error { return tx.Put(Record{Name: "m"}) }))
	r.Log("acquire", "m")
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "the state directory")
	require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := e.Info()
		require.NoError(t, err)
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		assert.Equal(t, want, fi.Mode().Perm(), p)
		return nil
	}))

	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o777))
	_, err = OpenRun(open, "r1", RunInfo{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "writable by other users (mode 0777)")
	assert.Contains(t, err.Error(), "ORBTEST_STATE_DIR")

	old := t.TempDir()
	require.NoError(t, os.Chmod(old, 0o755))
	_, err = OpenRun(old, "r1", RunInfo{})
	require.NoError(t, err)
	fi, err = os.Stat(old)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "a readable directory of the user's is made private")
}
