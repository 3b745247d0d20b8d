package env

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMETable checks that the README's environment table is Vars.
func TestREADMETable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(b), "| Variable | Default | Meaning |\n|---|---|---|\n")
	require.True(t, ok, "README has no environment table")
	table, _, _ = strings.Cut(table, "\n\n")
	var want []string
	for _, v := range Vars {
		if !v.Internal {
			want = append(want, "| `"+v.Name+"` | "+v.Default+" | "+v.Meaning+" |")
		}
	}
	assert.Equal(t, strings.Join(want, "\n"), strings.TrimSpace(table))
}

func TestAccessors(t *testing.T) {
	t.Setenv(MaxVMs, " 7 ")
	t.Setenv(MaxCreates, "-1")
	t.Setenv(Require, "Yes")
	t.Setenv(Backend, " Incus ")
	t.Setenv(Keep, "")
	assert.Equal(t, 7, PositiveInt(MaxVMs, DefaultMaxVMs))
	assert.Equal(t, DefaultMaxCreates, PositiveInt(MaxCreates, DefaultMaxCreates))
	assert.True(t, Bool(Require))
	assert.False(t, Bool(Keep))
	assert.Equal(t, "incus", Choice())
	t.Setenv(Backend, "")
	assert.Equal(t, "auto", Choice())
	assert.Contains(t, Set(), MaxVMs+"= 7 ")
	assert.Panics(t, func() { Get("ORBTEST_NOT_A_VARIABLE") })
}
