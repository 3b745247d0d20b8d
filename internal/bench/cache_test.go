package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/fakeorbctl"
	"github.com/orbtest/go-orbtest/internal/orbctl"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// cacheSetup is the setup step of the cache benchmark's spec: it costs 10 s
// whatever the machine, so a run that pays it shows.
const cacheSetup = "sleep 10"

// cacheSpec is the cache benchmark's spec.
var cacheSpec = orbtest.Debian("bookworm").WithSetup(cacheSetup)

// BenchmarkCacheRuns: two separate test processes (child processes of this
// test binary, each a run of its own) of a spec whose setup step takes
// 10 s, in a fresh state directory, so that the first misses the template
// cache (it builds the entry) and the second hits it (it clones from the
// entry). Each run's to-body time is from the process's start (exec) to
// its first test's body, which begins when NewVM returns. Each sample
// deletes the entry it made.
//
// backend: on the backend present. Each run also reports its parts:
// start (exec to the test function), probe (selecting and probing the
// backend), lookup (from NewVM's start to the cache's hit or miss being
// decided and the entry ready: pool init, key, locks, the entry's checks;
// on a miss, the build), ready (NewVM's whole time) and dhcp (from NewVM's
// start to the guest's DHCP address, from its journal on a container).
//
// orbstack-fake: the same two runs on the fake orbctl (internal/fakeorbctl),
// with the create and clone calls each made.
func BenchmarkCacheRuns(b *testing.B) {
	b.Run("backend", func(b *testing.B) {
		e := newBenchEnv(b)
		b.StopTimer()
		sums := map[string]float64{}
		for range b.N {
			state := b.TempDir()
			b.Cleanup(func() { deleteEntries(b, e.d, state) }) // when a sample fails
			m := cacheSample(b, state, nil, func(id string) { benchDeleteRunIn(b, e.d, state, id) })
			deleteEntries(b, e.d, state)
			for k, v := range m {
				sums[k] += v
			}
		}
		reportSums(b, sums, "second-to-body-ms")
	})
	b.Run("orbstack-fake", func(b *testing.B) {
		b.StopTimer()
		sums := map[string]float64{}
		for range b.N {
			f := fakeorbctl.New(b)
			f.Setenv(b)
			d, err := orbctl.Open(context.Background(), f.Bin)
			if err != nil {
				b.Fatal(err)
			}
			vars := append(f.Env(), env.Backend+"=orbstack", env.Orbctl+"="+f.Bin)
			state := b.TempDir()
			b.Cleanup(func() { deleteEntries(b, d, state) })
			var creates, clones int
			m := cacheSample(b, state, vars, func(id string) {
				benchDeleteRunIn(b, d, state, id)
				run := "first"
				if creates != 0 || clones != 0 {
					run = "second"
				}
				c, k := f.CountCalls("create"), f.CountCalls("clone")
				sums[run+"-creates"] += float64(c - creates)
				sums[run+"-clones"] += float64(k - clones)
				creates, clones = c, k
			})
			deleteEntries(b, d, state)
			for _, k := range []string{"first-to-body-ms", "second-to-body-ms"} {
				sums[k] += m[k]
			}
		}
		reportSums(b, sums, "second-to-body-ms")
	})
}

// cacheSample runs the two child processes in state and returns their
// figures, each prefixed "first-" or "second-". After each child exits,
// ended gets its run ID: it waits for the run's reaper, so that the next
// child starts on a quiet backend.
func cacheSample(b *testing.B, state string, vars []string, ended func(id string)) map[string]float64 {
	b.Helper()
	out := map[string]float64{}
	for _, run := range []string{"first", "second"} {
		id := benchChildRunID()
		t0 := time.Now()
		log, err := benchChild(b, "cache-run", append([]string{
			env.RunID + "=" + id,
			env.RunOwner + "=",
			env.StateDir + "=" + state,
			env.Cache + "=on",
		}, vars...))
		wall := time.Since(t0)
		ended(id)
		if err != nil {
			b.Fatal(err)
		}
		if os.Getenv(traceEnv) == "1" {
			b.Logf("%s run %s:\n%s", run, id, log)
		}
		m := childMetrics(log)
		body, ok := m["body-unix-ms"]
		if !ok {
			b.Fatalf("%s run reported nothing:\n%s", run, log)
		}
		hit := strings.Contains(log, "template cache hit: ")
		if want := run == "second"; hit != want {
			b.Fatalf("%s run: cache hit %v, want %v:\n%s", run, hit, want, log)
		}
		start := float64(t0.UnixNano()) / 1e6
		m["to-body-ms"] = body - start
		m["start-ms"] = m["entered-unix-ms"] - start
		delete(m, "body-unix-ms")
		delete(m, "entered-unix-ms")
		m["wall-ms"] = ms(wall)
		for k, v := range m {
			out[run+"-"+k] = v
		}
	}
	return out
}

// cacheChild is the cache benchmark's child: NewVM of cacheSpec, the
// first thing its test does (after Available, timed apart as the probe),
// then the test's body. It prints when the test function and the body
// began, on the host's clock, and NewVM's parts.
func cacheChild(t *testing.T) {
	metric := func(name string, d time.Duration) { fmt.Printf("BENCHMETRIC %s %.3f\n", name, ms(d)) }
	if os.Getenv(traceEnv) == "1" {
		traceCLI(t) // before the clock starts: it selects the backend itself
	}
	entered := time.Now()
	fmt.Printf("BENCHMETRIC entered-unix-ms %.3f\n", float64(entered.UnixNano())/1e6)
	if err := orbtest.Available(t.Context()); err != nil {
		t.Fatal(err)
	}
	metric("probe-ms", time.Since(entered))
	var (
		mu     sync.Mutex
		looked time.Time
	)
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		mu.Lock()
		if looked.IsZero() && (strings.Contains(line, "template cache hit: ") || strings.Contains(line, "template cache: built ")) {
			looked = time.Now()
		}
		mu.Unlock()
		benchStamped(t)("%s", line)
	}
	t0 := time.Now()
	vm := orbtest.NewVM(t, cacheSpec, orbtest.WithLogf(logf))
	body := time.Now()
	fmt.Printf("BENCHMETRIC body-unix-ms %.3f\n", float64(body.UnixNano())/1e6)
	metric("ready-ms", body.Sub(t0))
	mu.Lock()
	if !looked.IsZero() {
		metric("lookup-ms", looked.Sub(t0))
	}
	mu.Unlock()
	if got, ok := guestAddressTime(vm); ok {
		metric("dhcp-ms", got.Sub(t0))
	}
}

// benchDeleteRunIn is benchDeleteRun for a run of state directory state.
func benchDeleteRunIn(b *testing.B, d backend.Driver, state, id string) {
	b.Helper()
	benchDeleteRunOf(b, d, &runstate.Run{ID: id, Dir: filepath.Join(state, "runs", id)})
}

// deleteEntries deletes every template cache entry of state directory
// state, as `orbtest cache prune -all` does; again, it finds none.
func deleteEntries(b *testing.B, d backend.Driver, state string) {
	b.Helper()
	c, err := runstate.OpenCache(state)
	if err != nil {
		b.Error(err)
		return
	}
	es, err := c.Entries()
	if err != nil {
		b.Error(err)
		return
	}
	plan := runstate.SelectPrune(es, runstate.PruneRule{All: true})
	done, err := runstate.PruneCache(context.Background(), d, c, plan, false)
	if err != nil {
		b.Error(err)
	}
	for _, p := range done {
		if p.Busy || p.Err != nil {
			b.Errorf("cache entry %s not deleted (busy %v): %v", p.Name, p.Busy, p.Err)
		}
	}
}
