package runstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/orbtest/go-orbtest/internal/naming"
)

// Cache is a state directory's template cache: a record per entry, and two
// locks per entry, under STATE/cache:
//
//	KEY.json        the entry's record; the entry is usable only once it
//	                says Sealed (written after the template is provisioned,
//	                sealed and stopped)
//	KEY.build.lock  held (exclusive) by the process building the entry;
//	                whoever takes it after a dead builder finds a record
//	                that is not sealed and deletes the half-built machine
//	KEY.use.lock    held shared by every process that clones from the
//	                entry, for as long as it lives; taken exclusively to
//	                delete the entry, so an entry in use is never deleted
//	records.lock    guards read-modify-write of the records (short)
//
// The entry's machine is named naming.CacheEntry(Store, KEY). Cache is
// safe for concurrent use by goroutines and processes.
type Cache struct {
	Dir   string // STATE/cache
	Store string // naming.CacheStore of the state directory
}

// Entry is one cache entry's record.
type Entry struct {
	Key     string `json:"key"`  // the content key (hex)
	Name    string `json:"name"` // the entry's machine
	Backend string `json:"backend"`
	Remote  string `json:"remote,omitempty"`
	Spec    string `json:"spec"`  // the spec, for people
	Image   string `json:"image"` // the image's identity (fingerprint, or distro:release/arch)
	// Sealed: provisioned, sealed and stopped; clones may be made from it.
	Sealed bool   `json:"sealed"`
	Run    string `json:"run"` // the run that built it
	// MaxAge, when set, is how long the entry stands for its image (OrbStack).
	MaxAge    time.Duration `json:"max_age,omitempty"`
	BuildTime time.Duration `json:"build_time,omitempty"`
	SizeBytes int64         `json:"size_bytes,omitempty"` // 0: unknown
	Created   time.Time     `json:"created"`
	LastUsed  time.Time     `json:"last_used"`
	Hits      int           `json:"hits"` // clones made from it after it was built
}

// Expired reports whether the entry no longer stands for its image at now.
func (e Entry) Expired(now time.Time) bool {
	return e.MaxAge > 0 && now.Sub(e.Created) > e.MaxAge
}

// OpenCache returns stateDir's template cache, creating its directory (and
// refusing a state directory that is not private, see [Private]).
func OpenCache(stateDir string) (*Cache, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	if err := Private(abs); err != nil {
		return nil, err
	}
	c := &Cache{Dir: filepath.Join(abs, "cache"), Store: naming.CacheStore(abs)}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("orbtest: template cache: %w", err)
	}
	return c, nil
}

// ReadCache returns stateDir's template cache without creating anything,
// for display; nil when there is none.
func ReadCache(stateDir string) *Cache {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil
	}
	c := &Cache{Dir: filepath.Join(abs, "cache"), Store: naming.CacheStore(abs)}
	if _, err := os.Stat(c.Dir); err != nil {
		return nil
	}
	return c
}

// Name is the machine name of the entry of key.
func (c *Cache) Name(key string) string { return naming.CacheEntry(c.Store, key) }

// BuildLock is the lock file held while the entry of key is built.
func (c *Cache) BuildLock(key string) string { return filepath.Join(c.Dir, key+".build.lock") }

// UseLock is the lock file held shared by the entry's users.
func (c *Cache) UseLock(key string) string { return filepath.Join(c.Dir, key+".use.lock") }

func (c *Cache) recordPath(key string) string { return filepath.Join(c.Dir, key+".json") }

// Get reads the record of key; ok is false when there is none.
func (c *Cache) Get(key string) (e Entry, ok bool, err error) {
	err = readJSON(c.recordPath(key), &e)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	return e, err == nil, err
}

// Put writes e's record.
func (c *Cache) Put(e Entry) error {
	return c.withRecords(func() error { return writeJSON(c.recordPath(e.Key), e) })
}

// Remove deletes the record of key (and its lock files' names stay: they
// may be held).
func (c *Cache) Remove(key string) error {
	return c.withRecords(func() error {
		err := os.Remove(c.recordPath(key))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// Used notes a clone made from the entry of key at now: one hit more.
func (c *Cache) Used(key string, now time.Time) error {
	return c.withRecords(func() error {
		var e Entry
		if err := readJSON(c.recordPath(key), &e); err != nil {
			return err
		}
		e.Hits++
		e.LastUsed = now
		return writeJSON(c.recordPath(key), e)
	})
}

// Entries returns every record, the most recently used first.
func (c *Cache) Entries() ([]Entry, error) {
	paths, err := filepath.Glob(filepath.Join(c.Dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), ".tmp") {
			continue
		}
		var e Entry
		if err := readJSON(p, &e); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

func (c *Cache) withRecords(fn func() error) error {
	l, err := lockBlocking(filepath.Join(c.Dir, "records.lock"))
	if err != nil {
		return fmt.Errorf("orbtest: lock the template cache: %w", err)
	}
	defer l.Unlock()
	return fn()
}

// globKeys lists the keys STATE/cache has lock files for.
func globKeys(c *Cache) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(c.Dir, "*.build.lock"))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(paths))
	for _, p := range paths {
		keys = append(keys, strings.TrimSuffix(filepath.Base(p), ".build.lock"))
	}
	return keys, nil
}
