package goexec

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackLaysOutThePackage(t *testing.T) {
	pkg := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "testdata"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "testdata", "f.txt"), []byte("f"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, ".git", "HEAD"), []byte("x"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "nested"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "nested", "go.mod"), []byte("module n\n"), 0o644))
	bin := filepath.Join(t.TempDir(), "p.test")
	require.NoError(t, os.WriteFile(bin, []byte("ELF"), 0o755))
	cover := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cover, "covmeta.x"), []byte("meta"), 0o644))
	l, err := NewLayout("example.com/p", "p.test")
	require.NoError(t, err)
	outs := []Output{{Flag: "test.gocoverdir", Host: cover, Key: "0-cov", Dir: true}, {Flag: "test.outputdir", Host: pkg, Key: "1-p", Dir: true}, {Flag: "test.cpuprofile", Host: "/x/cpu.out", Key: "2-cpu.out"}}

	var buf bytes.Buffer
	require.NoError(t, Pack(&buf, pkg, bin, l, outs))
	var names []string
	tr := tar.NewReader(&buf)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	assert.Equal(t, []string{
		"src/example.com/p/", "src/example.com/p/testdata/", "src/example.com/p/testdata/f.txt",
		"bin/p.test", "out/", "out/0-cov/", "out/0-cov/covmeta.x", "out/1-p/",
	}, names)
}

func TestUnpackPutsOutputsAtTheirHostPaths(t *testing.T) {
	host := t.TempDir()
	outs := []Output{
		{Flag: "test.coverprofile", Host: filepath.Join(host, "c.out"), Key: "0-c.out"},
		{Flag: "test.gocoverdir", Host: filepath.Join(host, "cov"), Key: "1-cov", Dir: true},
	}
	archive := func(entries ...[2]string) *bytes.Buffer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			if e[1] == "/" {
				require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: e[0], Mode: 0o755}))
				continue
			}
			require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e[0], Mode: 0o644, Size: int64(len(e[1]))}))
			_, err := tw.Write([]byte(e[1]))
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		return &buf
	}
	require.NoError(t, Unpack(archive([2]string{"./", "/"}, [2]string{"./0-c.out", "mode: set\n"}, [2]string{"./1-cov/", "/"},
		[2]string{"./1-cov/covcounters.1", "counters"}, [2]string{"./9-unknown", "ignored"}), outs))
	b, err := os.ReadFile(filepath.Join(host, "c.out"))
	require.NoError(t, err)
	assert.Equal(t, "mode: set\n", string(b))
	b, err = os.ReadFile(filepath.Join(host, "cov", "covcounters.1"))
	require.NoError(t, err)
	assert.Equal(t, "counters", string(b))
	_, err = os.Stat(filepath.Join(host, "9-unknown"))
	assert.Error(t, err)

	err = Unpack(archive([2]string{"./1-cov/../../escape", "x"}), outs)
	assert.NoError(t, err, "a name cleaned out of its output is not an output's")
	_, err = os.Stat(filepath.Join(host, "..", "escape"))
	assert.Error(t, err, "nothing was written outside the outputs")
}
