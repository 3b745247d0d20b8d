package incus

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orbtest/go-orbtest/internal/backend"
)

func TestValidateName(t *testing.T) {
	cases := []struct {
		name   string
		reason string
		ok     bool
	}{
		{"orbtest-run1-abc-1", "the fixture's name shape", true},
		{"a", "one letter", true},
		{"A1-b2", "mixed case", true},
		{strings.Repeat("a", 63), "63 is the limit", true},
		{strings.Repeat("a", 64), "64 is too long", false},
		{"", "empty is always an error", false},
		{"1abc", "must start with a letter", false},
		{"-x", "a flag is not a name", false},
		{"abc-", "no trailing hyphen", false},
		{"a.b", "no dots (host name)", false},
		{"a_b", "no underscores", false},
		{"a b", "no spaces", false},
		{"a/b", "no slashes (snapshot syntax)", false},
		{"a:b", "no colons (remote syntax)", false},
		{"ä", "ASCII only", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.ok {
				assert.NoError(t, err, tc.reason)
				return
			}
			require.ErrorIs(t, err, backend.ErrInvalid, tc.reason)
			assert.Contains(t, err.Error(), "invalid instance name")
		})
	}
}

func TestValidateSnapshotAndRemote(t *testing.T) {
	cases := []struct {
		name   string
		reason string
		check  func(string) error
		in     string
		ok     bool
	}{
		{"snapshot plain", "letters", ValidateSnapshotName, "clean", true},
		{"snapshot dots", "dots and underscores allowed", ValidateSnapshotName, "v1.0_base", true},
		{"snapshot digit", "may start with a digit", ValidateSnapshotName, "0", true},
		{"snapshot slash", "slash addresses another object", ValidateSnapshotName, "a/b", false},
		{"snapshot dash", "no leading dash", ValidateSnapshotName, "-a", false},
		{"snapshot dot", "no leading dot", ValidateSnapshotName, ".", false},
		{"snapshot empty", "empty", ValidateSnapshotName, "", false},
		{"remote empty", "the default remote", ValidateRemote, "", true},
		{"remote name", "a remote name", ValidateRemote, "my-lab.1", true},
		{"remote colon", "no colon", ValidateRemote, "a:b", false},
		{"remote dash", "no leading dash", ValidateRemote, "-a", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.in)
			if tc.ok {
				assert.NoError(t, err, tc.reason)
			} else {
				assert.ErrorIs(t, err, backend.ErrInvalid, tc.reason)
			}
		})
	}
}
