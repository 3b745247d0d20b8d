package orbtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// The template cache across runs.
//
// A spec's provisioned, sealed and stopped template is kept after the run
// as a cache entry of the state directory (runstate.Cache), named by the
// content key of what it holds (cachekey.go). A later run whose spec has
// the same key clones from the entry instead of creating and provisioning
// a template. Entries are built once across processes (the entry's build
// lock), usable only once their record says sealed, and never deleted
// while a process clones from them (the use lock, held shared for the
// process's life). Runs' reapers and the sweep never touch them; the
// pruning at a run's start and `orbtest cache prune` do.

// Cache modes (ORBTEST_CACHE).
const (
	cacheOn      = "on"
	cacheOff     = "off"
	cacheRefresh = "refresh"
)

// errNoCache marks a spec the cache cannot key on this backend; the run
// then builds its own template.
var errNoCache = errors.New("no template cache")

// poolCache is a pool's view of the template cache.
type poolCache struct {
	mu      sync.Mutex
	c       *runstate.Cache   // nil until opened
	entries map[string]string // pool key -> entry name, once used by this process
	locks   []*runstate.Lock  // use locks, held for the process's life
	version string            // the backend's, from its probe
	pruned  bool
}

var noCloneOnce sync.Once

// cached returns the name of the cache entry for the spec of pool key
// poolKey, building it when it is missing, half built, expired or (under
// ORBTEST_CACHE=refresh) built by another run. Its error wraps errNoCache
// when the spec cannot be cached on this backend.
func (p *pool) cached(ctx context.Context, c *config, poolKey string) (string, error) {
	v, err, _ := p.sf.Do("cache\x00"+poolKey, func() (any, error) {
		pc := &p.cache
		pc.mu.Lock()
		name, ok := pc.entries[poolKey]
		pc.mu.Unlock()
		if ok {
			return name, nil
		}
		cache, err := p.openCache(ctx, c)
		if err != nil {
			return "", err
		}
		in, err := p.keyInput(ctx, c)
		if err != nil {
			return "", err
		}
		key := cacheKey(in)
		name, use, err := p.entry(ctx, c, cache, key, in)
		if err != nil {
			return "", err
		}
		pc.mu.Lock()
		pc.entries[poolKey] = name
		pc.locks = append(pc.locks, use)
		pc.mu.Unlock()
		return name, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// openCache opens the state directory's cache once, pruning it the first
// time (ORBTEST_CACHE_MAX_AGE, ORBTEST_CACHE_MAX_ENTRIES).
func (p *pool) openCache(ctx context.Context, c *config) (*runstate.Cache, error) {
	pc := &p.cache
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.c != nil {
		return pc.c, nil
	}
	cache, err := runstate.OpenCache(c.stateDir)
	if err != nil {
		return nil, err
	}
	if pc.entries == nil {
		pc.entries = map[string]string{}
	}
	pc.c = cache
	if !pc.pruned {
		pc.pruned = true
		p.pruneCache(ctx, c, cache)
	}
	return cache, nil
}

// pruneCache deletes the entries of the cache that the bounds say go, and
// logs each.
func (p *pool) pruneCache(ctx context.Context, c *config, cache *runstate.Cache) {
	es, err := cache.Entries()
	if err != nil {
		c.logf("orbtest: template cache: %v", err)
		return
	}
	plan := runstate.SelectPrune(es, runstate.PruneRule{
		Now:        time.Now(),
		UnusedFor:  env.Duration(env.CacheMaxAge, env.DefaultCacheMaxAge),
		MaxEntries: env.PositiveInt(env.CacheMax, env.DefaultCacheMax),
	})
	if len(plan) == 0 {
		return
	}
	done, err := runstate.PruneCache(ctx, p.d, cache, plan, false)
	for _, d := range done {
		switch {
		case d.Err != nil:
			c.logf("orbtest: template cache: prune %s: %v", d.Name, d.Err)
		case !d.Busy:
			c.logf("orbtest: template cache: pruned %s (%s)", d.Name, d.Why)
		}
	}
	if err != nil {
		c.logf("orbtest: template cache: prune: %v", err)
	}
}

// keyInput gathers what the spec's template is made of.
func (p *pool) keyInput(ctx context.Context, c *config) (keyInput, error) {
	ider, ok := p.d.(backend.ImageIdentifier)
	if !ok {
		return keyInput{}, fmt.Errorf("%w: the %s backend cannot say which image a spec uses", errNoCache, p.d.Name())
	}
	s := c.spec
	img, err := ider.ImageID(ctx, s.backendSpec())
	if err != nil {
		return keyInput{}, fmt.Errorf("orbtest: template for %s: image: %w", s, err)
	}
	p.cache.mu.Lock()
	version := p.cache.version
	p.cache.mu.Unlock()
	if version == "" {
		info, err := driverInfo(ctx, p.d)
		if err != nil {
			return keyInput{}, fmt.Errorf("orbtest: template for %s: %w", s, err)
		}
		version = info.Version
		p.cache.mu.Lock()
		p.cache.version = version
		p.cache.mu.Unlock()
	}
	in := keyInput{
		Backend: p.d.Name(), BackendVersion: version, Remote: p.d.Location(), Image: img.ID,
		Distro: s.distro, Version: s.version, Arch: s.arch, User: s.user, CloudInit: s.cloudInit,
		Setup: s.setup, CPUs: s.cpus, MemoryMiB: s.memoryMiB, DiskMiB: s.diskMiB, HostAccess: s.hostAccess,
		Proxy: c.proxy,
	}
	for _, f := range s.files {
		kf, err := keyFileOf(f.host, f.guest)
		if err != nil {
			return keyInput{}, err
		}
		in.Files = append(in.Files, kf)
	}
	return in, nil
}

// usable reports whether entry e (ok: it has a record) may be cloned from
// now, and why not.
func (p *pool) usable(ctx context.Context, e runstate.Entry, ok bool) (bool, string) {
	switch {
	case !ok:
		return false, "missing"
	case !e.Sealed:
		return false, "half built"
	case e.Expired(time.Now()):
		return false, "older than its image's " + e.MaxAge.String()
	case cacheMode() == cacheRefresh && e.Run != p.run.ID:
		return false, "refreshed (ORBTEST_CACHE=refresh)"
	}
	if _, err := p.d.Inspect(ctx, e.Name); err != nil {
		return false, "gone from the backend"
	}
	return true, ""
}

// entry returns the usable cache entry of key, building it first when
// there is none, and the use lock (shared) the process keeps on it.
func (p *pool) entry(ctx context.Context, c *config, cache *runstate.Cache, key string, in keyInput) (string, *runstate.Lock, error) {
	name := cache.Name(key)
	for {
		use, err := runstate.LockWaitShared(ctx, cache.UseLock(key))
		if err != nil {
			return "", nil, fmt.Errorf("orbtest: cache entry %q: %w", name, err)
		}
		e, ok, err := cache.Get(key)
		if err != nil {
			use.Unlock()
			return "", nil, err
		}
		if good, _ := p.usable(ctx, e, ok); good {
			_ = cache.Used(key, time.Now())
			c.logf("orbtest: template cache hit: %s for %s (built %s ago in %s, %d hits before)",
				name, c.spec, time.Since(e.Created).Round(time.Second), e.BuildTime.Round(time.Millisecond), e.Hits)
			return name, use, nil
		}
		use.Unlock()
		build, err := runstate.TryLock(cache.BuildLock(key))
		if err == nil && build == nil {
			c.logf("orbtest: waiting for another process to build cache entry %s for %s", name, c.spec)
			build, err = runstate.LockWait(ctx, cache.BuildLock(key))
		}
		if err != nil {
			return "", nil, fmt.Errorf("orbtest: cache entry %q: wait for its builder: %w", name, err)
		}
		e, ok, err = cache.Get(key)
		if err != nil {
			build.Unlock()
			return "", nil, err
		}
		good, why := p.usable(ctx, e, ok)
		if good { // built while this process waited
			build.Unlock()
			continue
		}
		use, err = p.rebuild(ctx, c, cache, key, in, why)
		build.Unlock()
		if err != nil {
			return "", nil, err
		}
		return name, use, nil
	}
}

// rebuild builds the entry of key holding its build lock: it deletes what
// is there (waiting for the entry's users when it is whole), writes a
// record that is not sealed, builds and seals the template, and then
// writes the sealed record. It returns the use lock, shared.
func (p *pool) rebuild(ctx context.Context, c *config, cache *runstate.Cache, key string, in keyInput, why string) (*runstate.Lock, error) {
	name := cache.Name(key)
	var use *runstate.Lock
	var err error
	if whole(why) {
		// Processes may clone from it: wait until none does.
		if use, err = runstate.TryLock(cache.UseLock(key)); err == nil && use == nil {
			c.logf("orbtest: cache entry %s is %s; waiting for the processes that clone from it to end", name, why)
			use, err = runstate.LockWait(ctx, cache.UseLock(key))
		}
	} else {
		// Nobody can clone from what is half built or gone; its users'
		// shared locks are no reason to wait.
		use, err = openShared(cache.UseLock(key))
	}
	if err != nil {
		return nil, fmt.Errorf("orbtest: cache entry %q: %w", name, err)
	}
	if why != "missing" {
		c.logf("orbtest: cache entry %s is %s: rebuilding it", name, why)
	}
	if err := retry(ctx, func(ctx context.Context) error { return p.d.Delete(ctx, name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
		use.Unlock()
		return nil, fmt.Errorf("orbtest: cache entry %q: clear: %w", name, err)
	}
	img := in.Image
	e := runstate.Entry{
		Key: key, Name: name, Backend: p.d.Name(), Remote: p.d.Location(), Spec: c.spec.String(),
		Image: img, Run: p.run.ID, Created: time.Now(),
	}
	if ider, ok := p.d.(backend.ImageIdentifier); ok {
		if im, err := ider.ImageID(ctx, c.spec.backendSpec()); err == nil {
			e.MaxAge = im.MaxAge
		}
	}
	if err := cache.Put(e); err != nil {
		use.Unlock()
		return nil, err
	}
	t0 := time.Now()
	if err := p.buildTemplate(ctx, c, name); err != nil {
		_ = cache.Remove(key)
		use.Unlock()
		return nil, fmt.Errorf("orbtest: cache entry %q for %s: %w", name, c.spec, err)
	}
	e.Sealed, e.BuildTime, e.LastUsed = true, time.Since(t0), time.Now()
	if m, err := p.d.Inspect(ctx, name); err == nil {
		e.SizeBytes = m.DiskBytes
	}
	if err := cache.Put(e); err != nil {
		use.Unlock()
		return nil, err
	}
	c.logf("orbtest: template cache: built %s for %s in %s; later runs clone from it", name, c.spec, e.BuildTime.Round(time.Millisecond))
	if whole(why) {
		if err := use.Share(); err != nil {
			use.Unlock()
			return nil, err
		}
	}
	return use, nil
}

// whole reports whether an entry that is not usable for reason why is a
// sealed machine that processes may still clone from.
func whole(why string) bool {
	return why != "missing" && why != "half built" && why != "gone from the backend"
}

// openShared takes the shared use lock, waiting only for exclusive holders.
func openShared(path string) (*runstate.Lock, error) {
	return runstate.LockWaitShared(context.Background(), path)
}

// cacheMode is ORBTEST_CACHE: on (the default), off or refresh.
func cacheMode() string {
	if v := env.Lower(env.Cache); v != "" {
		return v
	}
	return cacheOn
}

// checkCacheMode reports a bad ORBTEST_CACHE.
func checkCacheMode() error {
	switch cacheMode() {
	case cacheOn, cacheOff, cacheRefresh:
		return nil
	}
	return fmt.Errorf("bad %s %q: use on, off or refresh", env.Cache, env.Get(env.Cache))
}
