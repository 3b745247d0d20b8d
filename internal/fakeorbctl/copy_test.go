package fakeorbctl

import (
	"bufio"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var awkwardNames = []string{
	"with space.txt",
	`quote'single"double.txt`,
	"ünïcødé-日本語.txt",
	"$dollar`backtick`;semi&amp|pipe.txt",
	"new\nline.txt",
	"*glob?[x].txt",
}

func TestPushPullAwkwardNames(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	home := filepath.Join(f.Root("m1"), "home", "alice")
	src := t.TempDir()
	for i, n := range awkwardNames {
		p := filepath.Join(src, n)
		if err := os.WriteFile(p, []byte(strings.Repeat(n, i+1)), 0o640); err != nil {
			t.Fatal(err)
		}
		// One source, no destination: into the home directory.
		ok(t, f, "push", "-m", "m1", p)
		got, err := os.ReadFile(filepath.Join(home, n))
		if err != nil || string(got) != strings.Repeat(n, i+1) {
			t.Errorf("push %q: %q %v", n, got, err)
		}
		if fi, _ := os.Stat(filepath.Join(home, n)); fi == nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("push %q: mode %v", n, fi)
		}
		// Pull with a relative source (the home) to an explicit file.
		dst := filepath.Join(t.TempDir(), "out "+n)
		ok(t, f, "pull", "-m", "m1", n, dst)
		if got, _ := os.ReadFile(dst); string(got) != strings.Repeat(n, i+1) {
			t.Errorf("pull %q: %q", n, got)
		}
	}

	// Several sources into a directory (relative to home, or absolute).
	os.MkdirAll(filepath.Join(home, "dir with space"), 0o755)
	var srcs []string
	for _, n := range awkwardNames[:3] {
		srcs = append(srcs, filepath.Join(src, n))
	}
	ok(t, f, append(append([]string{"push", "-m", "m1"}, srcs...), "dir with space/")...)
	for _, n := range awkwardNames[:3] {
		if _, err := os.Stat(filepath.Join(home, "dir with space", n)); err != nil {
			t.Errorf("multi push: %v", err)
		}
	}
	wantErr(t, f, 1, "cp: target '/opt/abs' is not a directory", append(append([]string{"push", "-m", "m1"}, srcs...), "/opt/abs")...)
}

func TestPushPullDirectoriesAndErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "m1")
	root := f.Root("m1")
	src := filepath.Join(t.TempDir(), "project dir")
	os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o755)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "deeper", "ünï.txt"), []byte("x"), 0o600)
	os.Symlink("run.sh", filepath.Join(src, "link"))

	ok(t, f, "push", "-m", "m1", src, "/tmp")
	if out := ok(t, f, "run", "-m", "m1", "-w", "/tmp/project dir", "./run.sh"); out != "ran\n" {
		t.Errorf("pushed script: %q", out)
	}
	if fi, err := os.Stat(filepath.Join(root, "tmp", "project dir", "sub", "deeper", "ünï.txt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("nested file: %v %v", fi, err)
	}
	if l, _ := os.Readlink(filepath.Join(root, "tmp", "project dir", "link")); l != "run.sh" {
		t.Errorf("symlink: %q", l)
	}
	back := t.TempDir()
	ok(t, f, "pull", "-m", "m1", "/tmp/project dir", back)
	if b, _ := os.ReadFile(filepath.Join(back, "project dir", "run.sh")); string(b) != "#!/bin/sh\necho ran\n" {
		t.Errorf("pulled dir: %q", b)
	}

	// Errors are cp's, with exit 1.
	r := wantErr(t, f, 1, "cp: cannot stat 'nope.txt': No such file or directory", "pull", "-m", "m1", "nope.txt", back)
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
	one := filepath.Join(back, "project dir", "run.sh")
	wantErr(t, f, 1, "cp: target 'not-a-dir' is not a directory", "push", "-m", "m1", one, one, "not-a-dir")
	wantErr(t, f, 1, "cp: cannot create regular file '/missing/parent/x': No such file or directory", "push", "-m", "m1", one, "/missing/parent/x")
	wantErr(t, f, 1, "[-32098] machine not found: 'ghost'", "push", "-m", "ghost", one)
	wantErr(t, f, 1, "Error: requires at least 1 arg(s), only received 0", "pull", "-m", "m1")

	// Without -m: the default machine; a stopped machine is started.
	ok(t, f, "stop", "m1")
	ok(t, f, "push", one, "default.sh")
	if _, err := os.Stat(filepath.Join(root, "home", "alice", "default.sh")); err != nil {
		t.Errorf("push to default machine: %v", err)
	}
	if state(t, f, "m1") != "running" {
		t.Errorf("push did not start the machine")
	}
}

func TestPushPullLargeFile(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ok(t, f, "create", "debian", "big")
	src := filepath.Join(t.TempDir(), "big file.bin")
	want := writeRandom(t, src, 50<<20)

	ok(t, f, "push", "-m", "big", src, "/tmp/big file.bin")
	if got := hashFile(t, filepath.Join(f.Root("big"), "tmp", "big file.bin")); got != want {
		t.Fatalf("pushed file differs")
	}
	dst := filepath.Join(t.TempDir(), "back.bin")
	ok(t, f, "pull", "-m", "big", "/tmp/big file.bin", dst)
	if got := hashFile(t, dst); got != want {
		t.Fatalf("pulled file differs")
	}
}

func writeRandom(t *testing.T, path string, n int64) [32]byte {
	t.Helper()
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(file, h), 1<<20)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.CopyN(w, rng, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
