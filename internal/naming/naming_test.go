package naming

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

var valid = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func TestNames(t *testing.T) {
	run := CleanRunID("3F9A-1c2e")
	m := Machine(run, "8b1d0f7788")
	tpl := Template(run, "incus-0123456789abcdef")
	for _, n := range []string{m, tpl, Machine(CleanRunID("0123456789abcdef0123"), "x")} {
		assert.Regexp(t, valid, n)
		assert.True(t, IsOrbtest(n), n)
	}
	assert.Regexp(t, `^orbtest-3f9a1c2e-8b1d0f-[0-9a-f]{6}$`, m)
	assert.NotEqual(t, m, Machine(run, "8b1d0f7788"), "names are random")
	assert.Equal(t, "orbtest-3f9a1c2e-abcdef-tpl", tpl)
	assert.True(t, IsTemplate(tpl))
	assert.False(t, IsTemplate(m))
	assert.Equal(t, run, RunOf(m))
	assert.Equal(t, run, RunOf(tpl))
}

func TestRunOf(t *testing.T) {
	assert.Equal(t, "3f9a1c2e", RunOf("orbtest-3f9a1c2e-8b1d0f-a41c09"))
	assert.Equal(t, "", RunOf("ubuntu"))
	assert.Equal(t, "", RunOf("orbtest-"))
	assert.Equal(t, "", RunOf("orbtestx-3f9a1c2e-8b1d0f-a41c09"))
	assert.False(t, IsOrbtest("orbtestx-1"))
	assert.False(t, IsOrbtest("docker"))
}

func TestCleanRunID(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                    "abc",
		"A-B_c.9":                "abc9",
		"":                       "run",
		"---":                    "run",
		"0123456789abcdefXYZ123": "0123456789abcdef",
	} {
		assert.Equal(t, want, CleanRunID(in), in)
	}
}
