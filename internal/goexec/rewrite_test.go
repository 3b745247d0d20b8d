package goexec

import (
	"debug/elf"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRewrite(t *testing.T) {
	l, err := NewLayout("example.com/m/pkg", "pkg.test")
	require.NoError(t, err)
	const up = "../../../../" // from src/example.com/m/pkg to Root
	tests := []struct {
		name    string
		args    []string
		cover   string
		want    []string
		env     []string
		outputs []Output
	}{
		{name: "no path flags", args: []string{"-test.v=true", "-test.run=^TestX$", "-test.timeout=10m0s"},
			want: []string{"-test.v=true", "-test.run=^TestX$", "-test.timeout=10m0s"}},
		{name: "go test's coverage", args: []string{"-test.paniconexit0", "-test.gocoverdir=/tmp/go-build1/b001/gocoverdir", "-test.coverprofile=/tmp/go-build1/b001/_cover_.out"},
			cover: "/tmp/go-build1/b001/gocoverdir",
			want:  []string{"-test.paniconexit0", "-test.gocoverdir=" + up + "out/0-gocoverdir", "-test.coverprofile=" + up + "out/1-_cover_.out"},
			env:   []string{"GOCOVERDIR=" + up + "out/0-gocoverdir"},
			outputs: []Output{
				{Flag: "test.gocoverdir", Host: "/tmp/go-build1/b001/gocoverdir", Key: "0-gocoverdir", Dir: true},
				{Flag: "test.coverprofile", Host: "/tmp/go-build1/b001/_cover_.out", Key: "1-_cover_.out"},
			}},
		{name: "profiles relative to the output directory", args: []string{"-test.cpuprofile=cpu.out", "-test.outputdir=/home/u/m/pkg", "-test.trace=/abs/trace.out", "-test.coverprofile=/tmp/c.out"},
			want: []string{"-test.cpuprofile=../1-cpu.out", "-test.outputdir=" + up + "out/0-pkg", "-test.trace=../2-trace.out", "-test.coverprofile=" + up + "out/3-c.out"},
			outputs: []Output{
				{Flag: "test.outputdir", Host: "/home/u/m/pkg", Key: "0-pkg", Dir: true},
				{Flag: "test.cpuprofile", Host: "/home/u/m/pkg/cpu.out", Key: "1-cpu.out"},
				{Flag: "test.trace", Host: "/abs/trace.out", Key: "2-trace.out"},
				{Flag: "test.coverprofile", Host: "/tmp/c.out", Key: "3-c.out"}, // not from -test.outputdir
			}},
		{name: "relative to the package directory without -outputdir, separate values, two dashes", args: []string{"--test.memprofile", "mem.out", "-test.blockprofile", "b.out", "-test.mutexprofile=sub/m.out"},
			want: []string{"--test.memprofile", up + "out/0-mem.out", "-test.blockprofile", up + "out/1-b.out", "-test.mutexprofile=" + up + "out/2-m.out"},
			outputs: []Output{
				{Flag: "test.memprofile", Host: "/h/pkg/mem.out", Key: "0-mem.out"},
				{Flag: "test.blockprofile", Host: "/h/pkg/b.out", Key: "1-b.out"},
				{Flag: "test.mutexprofile", Host: "/h/pkg/sub/m.out", Key: "2-m.out"},
			}},
		{name: "artifacts go to the output directory", args: []string{"-test.artifacts=true", "-test.outputdir=/out"},
			want:    []string{"-test.artifacts=true", "-test.outputdir=" + up + "out/0-out"},
			outputs: []Output{{Flag: "test.outputdir", Host: "/out", Key: "0-out", Dir: true}}},
		{name: "GOCOVERDIR alone", cover: "cov",
			env:     []string{"GOCOVERDIR=" + up + "out/0-cov"},
			outputs: []Output{{Flag: "GOCOVERDIR", Host: "/h/pkg/cov", Key: "0-cov", Dir: true}}},
		{name: "after -- nothing is rewritten, empty values stay", args: []string{"-test.cpuprofile=", "--", "-test.cpuprofile=/x"},
			want: []string{"-test.cpuprofile=", "--", "-test.cpuprofile=/x"}},
		{name: "look-alikes pass", args: []string{"-test.coverprofilex=/a", "test.cpuprofile=/b", "-cpuprofile=/c"},
			want: []string{"-test.coverprofilex=/a", "test.cpuprofile=/b", "-cpuprofile=/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Rewrite(tt.args, tt.cover, "/h/pkg", l)
			require.NoError(t, err)
			if tt.want == nil {
				tt.want = []string{}
			}
			if p.Args == nil {
				p.Args = []string{}
			}
			assert.Equal(t, tt.want, p.Args)
			assert.Equal(t, tt.env, p.Env)
			assert.Equal(t, tt.outputs, p.Outputs)
		})
	}
	_, err = Rewrite([]string{"-test.coverprofile"}, "", "/h", l)
	assert.ErrorContains(t, err, "-test.coverprofile needs a value")
}

func TestLayout(t *testing.T) {
	l, err := NewLayout("example.com/m/pkg", "pkg.test")
	require.NoError(t, err)
	assert.Equal(t, Layout{ImportPath: "example.com/m/pkg", PkgDir: Root + "/src/example.com/m/pkg", Bin: Root + "/bin/pkg.test", Out: Root + "/out"}, l)
	assert.Equal(t, "../../../../bin/pkg.test", l.FromPkgDir(l.Bin))
	assert.Equal(t, "tmp/orbtest-go/out", FromRoot(l.Out))
	for _, bad := range []string{"", "../x", "a/../../x", "a//b", "a\\b"} {
		_, err := NewLayout(bad, "x.test")
		assert.Error(t, err, bad)
	}
	_, err = NewLayout("p", "a/b")
	assert.Error(t, err)
}

func TestArchOf(t *testing.T) {
	for m, want := range map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64", elf.EM_386: "i386"} {
		got, err := ArchOf(m)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ArchOf(elf.EM_RISCV)
	assert.ErrorContains(t, err, "EM_RISCV")
	_, err = BinaryArch("rewrite_test.go")
	assert.ErrorContains(t, err, "build it with GOOS=linux")
}
