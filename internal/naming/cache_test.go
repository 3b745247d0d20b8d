package naming

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCacheEntryNames(t *testing.T) {
	store := CacheStore("/home/u/.cache/orbtest")
	assert.Len(t, store, 6)
	assert.NotEqual(t, store, CacheStore("/tmp/other"), "stores differ by state directory")
	n := CacheEntry(store, "0123456789abcdef0123456789abcdef")
	assert.Equal(t, "orbcache-"+store+"-0123456789abcdef0123", n)
	assert.Regexp(t, valid, n)
	for _, tc := range []struct {
		name, store string
		want        bool
		reason      string
	}{
		{n, store, true, "its own store"},
		{n, "", true, "any store"},
		{n, "ffffff", false, "another state directory's entry"},
		{"orbcache-", "", false, "no store"},
		{"orbcache-abcdef", "", false, "no key"},
		{"orbtest-run-abc-tpl", "", false, "a run's template"},
		{"orbcachex-abcdef-01", "", false, "another prefix"},
	} {
		assert.Equal(t, tc.want, IsCacheEntry(tc.name, tc.store), "%s: %s", tc.name, tc.reason)
	}
	// The reaper, the sweep and gc go by these two: entries are none of theirs.
	assert.False(t, IsOrbtest(n))
	assert.Equal(t, "", RunOf(n))
}
