package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// CachePrefix starts the name of every template cache entry:
// CachePrefix-STORE-KEY ("orbcache-1a2b3c-0123456789abcdef0123"), where
// STORE names the state directory whose records own the entry ([CacheStore])
// and KEY is the first 20 characters of the entry's content key. Entries
// are not machines of a run: [IsOrbtest] is false and [RunOf] is "" for
// them, so a run's reaper, the sweep of dead runs, `orbtest gc` and the
// leak check of scripts/check-leaks.sh never delete or count them; only
// the cache's own pruning does.
const CachePrefix = "orbcache"

// CacheStore is the 6 characters that tie cache entries to the state
// directory stateDir (an absolute path) whose records describe them.
func CacheStore(stateDir string) string {
	h := sha256.Sum256([]byte(stateDir))
	return hex.EncodeToString(h[:])[:6]
}

// CacheEntry returns the name of the cache entry of content key key (a hex
// string) in store.
func CacheEntry(store, key string) string {
	return CachePrefix + "-" + store + "-" + key[:min(20, len(key))]
}

// IsCacheEntry reports whether name is a template cache entry of store;
// with store "", of any store.
func IsCacheEntry(name, store string) bool {
	rest, ok := strings.CutPrefix(name, CachePrefix+"-")
	if !ok {
		return false
	}
	s, key, ok := strings.Cut(rest, "-")
	return ok && key != "" && len(s) == 6 && (store == "" || s == store)
}
