package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		"":                                    nil,
		"  -distro   ubuntu\t-version 24.04 ": {"-distro", "ubuntu", "-version", "24.04"},
		`-setup 'apt-get install -y jq'`:      {"-setup", "apt-get install -y jq"},
		`-env "A=x y" -env B=\"q\"`:           {"-env", "A=x y", "-env", `B="q"`},
		`-env ''`:                             {"-env", ""},
		`a\ b 'c\d'`:                          {"a b", `c\d`},
	} {
		got, err := splitWords(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{`'open`, `"open`, `trailing\`} {
		_, err := splitWords(bad)
		assert.Error(t, err, bad)
	}
}

func TestMachineArch(t *testing.T) {
	for _, tc := range []struct{ bin, flag, host, want string }{
		{"amd64", "", "amd64", ""},           // native: the spec tests on this host use
		{"arm64", "", "arm64", ""},           // Apple silicon, an arm64 binary
		{"amd64", "", "arm64", "amd64"},      // Apple silicon, an amd64 binary: Rosetta
		{"amd64", "i386", "amd64", "i386"},   // the flag says otherwise
		{"arm64", "arm64", "amd64", "arm64"}, // the backend decides whether it can
	} {
		assert.Equal(t, tc.want, machineArch(tc.bin, tc.flag, tc.host), "%+v", tc)
	}
	assert.Equal(t, "i386", hostArch("386"))
	assert.Equal(t, "arm64", hostArch("arm64"))
}

func TestEnvPairs(t *testing.T) {
	host := map[string]string{"SET": "v", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := host[k]; return v, ok }
	got, err := envPairs([]string{"SET", "EMPTY", "UNSET", "K=a=b", "N="}, lookup)
	require.NoError(t, err)
	assert.Equal(t, []string{"SET=v", "EMPTY=", "K=a=b", "N="}, got)
	_, err = envPairs([]string{"=x", "A B", "C:D=1"}, lookup)
	assert.ErrorContains(t, err, `-env "=x": use NAME or NAME=VALUE`)
	assert.ErrorContains(t, err, `-env "A B"`)
	assert.ErrorContains(t, err, `-env "C:D=1"`)
}
