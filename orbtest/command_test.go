package orbtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCmdStringQuotes(t *testing.T) {
	assert.Equal(t, `ls -l '/tmp/a b'`, Command("ls", "-l", "/tmp/a b").String())
	assert.Equal(t, `sh -c 'echo $HOME | wc -c'`, ShellCommand("echo $HOME | wc -c").String())
	assert.Equal(t, `printf ''`, Command("printf", "").String())
	assert.Equal(t, `echo 'it'\''s'`, Command("echo", "it's").String())
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
