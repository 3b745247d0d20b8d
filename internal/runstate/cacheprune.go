package runstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/naming"
)

// PruneRule says which cache entries go. The zero rule prunes nothing.
type PruneRule struct {
	Now time.Time
	// All prunes every entry.
	All bool
	// UnusedFor prunes entries last used longer ago than this (0: none).
	UnusedFor time.Duration
	// MaxEntries keeps at most this many sealed entries, the most
	// recently used (0: no bound).
	MaxEntries int
}

// Prune is one entry a rule prunes, and why.
type Prune struct {
	Entry Entry
	Why   string
}

// SelectPrune returns the entries of es that rule prunes, each once, with
// the first reason that applies: all; not sealed (its builder died: a
// half-built entry); expired (it no longer stands for its image); unused
// for longer than UnusedFor; beyond MaxEntries, least recently used first.
// It is pure.
func SelectPrune(es []Entry, rule PruneRule) []Prune {
	var out []Prune
	var kept []Entry
	for _, e := range es {
		last := e.LastUsed
		if last.IsZero() {
			last = e.Created
		}
		switch {
		case rule.All:
			out = append(out, Prune{e, "all"})
		case !e.Sealed:
			out = append(out, Prune{e, "not sealed"})
		case e.Expired(rule.Now):
			out = append(out, Prune{e, fmt.Sprintf("older than its image's %s", e.MaxAge)})
		case rule.UnusedFor > 0 && rule.Now.Sub(last) > rule.UnusedFor:
			out = append(out, Prune{e, fmt.Sprintf("unused for %s", rule.Now.Sub(last).Round(time.Minute))})
		default:
			kept = append(kept, e)
		}
	}
	if rule.MaxEntries > 0 && len(kept) > rule.MaxEntries {
		byUse := append([]Entry(nil), kept...)
		sortByLastUse(byUse)
		for _, e := range byUse[rule.MaxEntries:] {
			out = append(out, Prune{e, fmt.Sprintf("beyond %d entries", rule.MaxEntries)})
		}
	}
	return out
}

// sortByLastUse orders es the most recently used first (created, when
// never used), by name when equal.
func sortByLastUse(es []Entry) {
	last := func(e Entry) time.Time {
		if e.LastUsed.IsZero() {
			return e.Created
		}
		return e.LastUsed
	}
	for i := 1; i < len(es); i++ {
		for j := i; j > 0; j-- {
			a, b := last(es[j-1]), last(es[j])
			if a.After(b) || a.Equal(b) && es[j-1].Name <= es[j].Name {
				break
			}
			es[j-1], es[j] = es[j], es[j-1]
		}
	}
}

// Pruned is what PruneCache did with one entry.
type Pruned struct {
	Name, Why string
	// Busy: in use or being built by a live process, so left alone.
	Busy bool
	Err  error
}

// PruneCache deletes the entries plan names that are d's (same backend and
// remote), each only when no process uses or builds it (both of its locks
// taken without waiting), the machine first and then its record. With
// dry, it deletes nothing and reports what it would do. Entries' machines
// on d that have no record in c (left by a builder that died before it
// wrote one) are deleted too, under the same locks; their Why is "no
// record".
func PruneCache(ctx context.Context, d backend.Driver, c *Cache, plan []Prune, dry bool) ([]Pruned, error) {
	var out []Pruned
	known := map[string]bool{}
	es, err := c.Entries()
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		known[e.Name] = true
	}
	for _, p := range plan {
		if p.Entry.Backend != d.Name() || p.Entry.Remote != d.Location() {
			continue
		}
		out = append(out, c.prune(ctx, d, p.Entry.Key, p.Entry.Name, p.Why, true, dry))
	}
	ms, err := d.List(ctx)
	if err != nil {
		return out, fmt.Errorf("list machines: %w", err)
	}
	for _, m := range ms {
		if !naming.IsCacheEntry(m.Name, c.Store) || known[m.Name] {
			continue
		}
		key := keyOfName(c, m.Name)
		if key == "" {
			continue
		}
		out = append(out, c.prune(ctx, d, key, m.Name, "no record", false, dry))
	}
	return out, nil
}

// keyOfName finds the key whose entry name is name: the lock files of
// STATE/cache name it, or nothing does ("").
func keyOfName(c *Cache, name string) string {
	matches, _ := globKeys(c)
	for _, k := range matches {
		if c.Name(k) == name {
			return k
		}
	}
	return ""
}

// prune deletes one entry's machine and record under both of its locks.
func (c *Cache) prune(ctx context.Context, d backend.Driver, key, name, why string, record, dry bool) Pruned {
	r := Pruned{Name: name, Why: why}
	build, err := TryLock(c.BuildLock(key))
	if err != nil || build == nil {
		r.Busy, r.Err = build == nil && err == nil, err
		return r
	}
	defer build.Unlock()
	use, err := TryLock(c.UseLock(key))
	if err != nil || use == nil {
		r.Busy, r.Err = use == nil && err == nil, err
		return r
	}
	defer use.Unlock()
	if dry {
		return r
	}
	err = backend.Retry(ctx, func(ctx context.Context) error { return d.Delete(ctx, name) })
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		r.Err = fmt.Errorf("delete %s: %w", name, err)
		return r
	}
	if record {
		r.Err = c.Remove(key)
	}
	return r
}
