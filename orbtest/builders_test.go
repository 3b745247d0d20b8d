package orbtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecValuesAreImmutable(t *testing.T) {
	base := Debian("bookworm").WithSetup("apt-get update")
	a := base.WithSetup("apt-get install -y curl").WithUser("ci")
	b := base.WithSetup("apt-get install -y nginx")

	assert.Equal(t, []string{"apt-get update"}, base.setup)
	assert.Equal(t, []string{"apt-get update", "apt-get install -y curl"}, a.setup)
	assert.Equal(t, []string{"apt-get update", "apt-get install -y nginx"}, b.setup)
	assert.Empty(t, base.user)

	f1 := base.WithFile("a", "/a")
	f2 := f1.WithFile("b", "/b")
	f3 := f1.WithFile("c", "/c")
	assert.Len(t, f1.files, 1)
	assert.Equal(t, "/b", f2.files[1].guest)
	assert.Equal(t, "/c", f3.files[1].guest)
}

func TestFingerprint(t *testing.T) {
	base := Debian("bookworm")
	fp := base.Fingerprint()
	assert.Len(t, fp, 64)
	assert.Equal(t, fp, Debian("bookworm").Fingerprint(), "equal specs share a fingerprint")

	different := map[string]Spec{
		"version":     Debian("trixie"),
		"distro":      Ubuntu("bookworm"),
		"arch":        base.WithArch("amd64"),
		"user":        base.WithUser("ci"),
		"cloud-init":  base.WithCloudInit("#cloud-config\n"),
		"setup":       base.WithSetup("true"),
		"setup order": base.WithSetup("b", "a"),
		"file":        base.WithFile("x", "/x"),
		"cpus":        base.WithCPUs(2),
		"memory":      base.WithMemory(512),
		"disk":        base.WithDisk(4096),
		"host access": base.WithHostAccess(),
	}
	seen := map[string]string{fp: "base"}
	for what, s := range different {
		got := s.Fingerprint()
		prev, dup := seen[got]
		assert.False(t, dup, "%s collides with %s", what, prev)
		seen[got] = what
	}
	// Field boundaries matter: moving text between two setup steps changes it.
	assert.NotEqual(t, base.WithSetup("ab", "c").Fingerprint(), base.WithSetup("a", "bc").Fingerprint())
	assert.Equal(t, base.WithSetup("a", "b").Fingerprint(), base.WithSetup("a").WithSetup("b").Fingerprint())
}

func TestSpecValidate(t *testing.T) {
	require.NoError(t, Debian("bookworm").Validate())
	require.NoError(t, Ubuntu("24.04").WithArch("arm64").WithUser("ci_user").WithCPUs(2).WithMemory(1024).Validate())
	err := Spec{}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `orbtest.Debian("bookworm")`)
	err = Debian("bookworm; rm -rf /").Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad version")
	err = Debian("12").WithMemory(10).Validate()
	assert.ErrorContains(t, err, "at least 64")
}

func TestCmdStringQuotes(t *testing.T) {
	assert.Equal(t, `ls -l "/tmp/a b"`, Command("ls", "-l", "/tmp/a b").String())
	assert.Equal(t, `sh -c "echo $HOME | wc -c"`, ShellCommand("echo $HOME | wc -c").String())
	assert.Equal(t, `printf ""`, Command("printf", "").String())
}

func TestCmdBuildersAreImmutable(t *testing.T) {
	base := Command("env").WithEnv("A=1")
	a := base.WithEnv("B=2").AsUser("root").InDir("/tmp")
	assert.Equal(t, []string{"A=1"}, base.env)
	assert.Equal(t, []string{"A=1", "B=2"}, a.env)
	assert.Empty(t, base.user)
	assert.Equal(t, []string{"env"}, base.Args())
}

func TestCmdValidate(t *testing.T) {
	for _, tt := range []struct {
		reason string
		cmd    Cmd
		want   string
	}{
		{"empty", Cmd{}, "empty command"},
		{"empty name", Command(""), "empty command"},
		{"flag first", Command("--help"), "starts with '-'"},
		{"env without =", Command("x").WithEnv("A"), "use KEY=VALUE"},
		{"env with empty key", Command("x").WithEnv("=1"), "use KEY=VALUE"},
		{"env key with colon", Command("x").WithEnv("A:B=1"), "use KEY=VALUE"},
		{"relative dir", Command("x").InDir("tmp"), "not absolute"},
		{"bad user", Command("x").AsUser("-root"), "bad user name"},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			assert.ErrorContains(t, tt.cmd.validate(), tt.want)
		})
	}
	assert.NoError(t, Command("x").WithEnv("A=", "B=c=d").AsUser("root").InDir("/").validate())
}

func TestListeningParsesProcNetTCP(t *testing.T) {
	const procNet = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
`
	assert.True(t, listening(procNet, 8080), "0x1F90 listening on 0.0.0.0")
	assert.True(t, listening(procNet, 53), "listening on loopback")
	assert.True(t, listening(procNet, 22), "listening on ::")
	assert.False(t, listening(procNet, 50000), "an established connection is not a listener")
	assert.False(t, listening(procNet, 80))
	assert.False(t, listening("", 80))
}

func TestAllAndAny(t *testing.T) {
	pass := NewCheck("pass", func(context.Context, *VM) error { return nil })
	notYet := NewCheck("not-yet", func(context.Context, *VM) error { return assert.AnError })
	never := NewCheck("never", func(context.Context, *VM) error { return Permanent(assert.AnError) })
	ctx := t.Context()

	assert.NoError(t, All(pass, pass).fn(ctx, nil))
	err := All(pass, notYet).fn(ctx, nil)
	assert.ErrorContains(t, err, "not-yet: ")
	assert.False(t, isPermanent(err))
	assert.True(t, isPermanent(All(never, pass).fn(ctx, nil)))
	assert.Equal(t, "pass and not-yet", All(pass, notYet).String())

	assert.NoError(t, Any(notYet, pass).fn(ctx, nil))
	assert.False(t, isPermanent(Any(notYet, never).fn(ctx, nil)), "one check may still pass")
	assert.True(t, isPermanent(Any(never, never).fn(ctx, nil)))
	assert.Equal(t, "pass or never", Any(pass, never).String())
}
