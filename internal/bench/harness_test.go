package bench

// Benchmarks of orbtest on the backend present, side by side with the plain
// incus CLI sequence a careful user would write. scripts/bench.sh runs them
// with enough repetitions to quote a median and a spread and writes
// docs/BENCHMARKS.md from their output (see report/).
//
// Every benchmark reports one sample per output line when run with
// -benchtime=1x (the slow ones) or a mean of b.N iterations (the fast
// ones); the figures are custom metrics in milliseconds or seconds, named
// after what they time, and ns/op is the primary orbtest figure. Each
// benchmark skips when no backend is available, and deletes every machine
// it creates; the run's reaper, started by the first benchmark, deletes
// whatever an interrupted run left.
//
// orbtest is used through its public API, as a user's tests use it. What a
// user cannot do through it, the benchmarks do on the driver
// (internal/backends.Select) or the run's state (internal/runstate): list,
// inspect and delete machines, and start the run's reaper before any pool
// is open.
//
// Environment: run them with a dedicated ORBTEST_STATE_DIR (bench.sh does)
// so that no other run's sweep competes with the timed work.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// benchSpec is the machine of the cold, warm, run and lag benchmarks.
var benchSpec = orbtest.Debian("bookworm")

// benchSetup is the suite's setup step: byte-compile the Python standard
// library at three optimisation levels (what installing a Python package
// set does) and generate a 200,000-row JSON fixture with its checksum. It
// is CPU-bound, single-threaded and offline; docs/BENCHMARKS.md quotes what
// it costs on the machine measured.
const benchSetup = `set -e
PYTHONPYCACHEPREFIX=/opt/pycache python3 -m compileall -q -f -o 0 -o 1 -o 2 /usr/lib/python3.11 >/dev/null
python3 - <<'PY'
import hashlib, json, random
random.seed(42)
rows = [{"id": i, "name": "item-%d" % i, "score": random.random(), "tags": random.sample(range(100), 5)} for i in range(200000)]
with open("/srv/fixture.json", "w") as f:
    json.dump(rows, f)
with open("/srv/fixture.sha256", "w") as f:
    f.write(hashlib.sha256(open("/srv/fixture.json", "rb").read()).hexdigest() + "\n")
PY`

// benchSuiteSpec is the machine of the suite benchmark.
var benchSuiteSpec = orbtest.Debian("bookworm").WithSetup(benchSetup)

// benchPackagesSetup is the packages suite's setup step, the kind users
// write: install a web server, a JSON tool and a database client from the
// distribution (through the package proxy on Incus hosts).
const benchPackagesSetup = "apt-get update && apt-get install -y --no-install-recommends nginx jq sqlite3"

// benchPackagesSpec is the machine of the packages suite benchmark.
var benchPackagesSpec = orbtest.Debian("bookworm").WithSetup(benchPackagesSetup)

// suiteEnv tells a suite child which suite it runs: "packages", or the
// CPU-bound one when unset.
const suiteEnv = "ORBTEST_BENCH_SUITE"

// suiteSpec is the spec of the suite a child runs.
func suiteSpec() orbtest.Spec {
	if os.Getenv(suiteEnv) == "packages" {
		return benchPackagesSpec
	}
	return benchSuiteSpec
}

// benchEnv is the backend a benchmark runs on.
type benchEnv struct {
	d     backend.Driver // for what the public API does not do: List, Inspect, Delete
	incus string         // the incus binary for the raw CLI side; "" on another backend
}

var reaperOnce sync.Once

// newBenchEnv returns the backend, or skips b when none is available. The
// library selects and probes its backend first, so that no timed StartVM
// or NewVM of this process pays for the probe. It starts the run's reaper
// once per process, so an interrupted benchmark leaves nothing behind.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	if err := orbtest.Available(ctx); err != nil {
		if errors.Is(err, orbtest.ErrUnavailable) {
			b.Skipf("skipping benchmark: %v", err)
		}
		b.Fatal(err)
	}
	d, err := backends.Select(ctx, env.Choice())
	if err != nil {
		b.Fatal(err)
	}
	reaperOnce.Do(func() {
		if env.Bool(env.NoReaper) {
			return
		}
		if err := startReaper(d); err != nil {
			b.Logf("no reaper: %v", err)
		}
	})
	e := &benchEnv{d: d}
	if d.Name() == "incus" && env.Get(env.IncusRemote) == "" {
		if e.incus, err = incus.Find(); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// needRaw skips b unless the raw incus CLI side can run.
func (e *benchEnv) needRaw(b *testing.B) {
	b.Helper()
	if e.incus == "" {
		b.Skipf("skipping: the raw CLI comparison is written for the incus CLI on its default remote (backend: %s)", e.d.Name())
	}
}

// raw runs the incus CLI as a user's script would, output discarded.
func (e *benchEnv) raw(ctx context.Context, args ...string) error {
	return exec.CommandContext(ctx, e.incus, args...).Run()
}

// rawOut runs the incus CLI and returns its standard output.
func (e *benchEnv) rawOut(ctx context.Context, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, e.incus, args...).Output()
}

// rawName is a name for a machine the raw side makes: one of this run's,
// so the run's reaper deletes it if the benchmark dies.
func rawName(kind string) string {
	return naming.Machine(orbtest.RunID(), kind)
}

// waitExec polls `incus exec NAME -- argv...` back to back until it
// succeeds, and returns when it did.
func (e *benchEnv) waitExec(ctx context.Context, name string, argv ...string) (time.Time, error) {
	if len(argv) == 0 {
		argv = []string{"true"}
	}
	args := append([]string{"exec", name, "--"}, argv...)
	for {
		if err := e.raw(ctx, args...); err == nil {
			return time.Now(), nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
	}
}

// waitIPv4 polls `incus list ^NAME$ -c4` back to back until it shows an
// IPv4 address.
func (e *benchEnv) waitIPv4(ctx context.Context, name string) (time.Time, error) {
	for {
		out, err := e.rawOut(ctx, "list", "^"+name+"$", "-c4", "--format=csv")
		if err == nil && bytes.ContainsAny(out, "0123456789") {
			return time.Now(), nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
	}
}

func (e *benchEnv) rawDelete(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = e.raw(ctx, "delete", "--force", name)
}

// runState is the state directory of run id, as the library keeps it.
func runState(id string) *runstate.Run {
	return &runstate.Run{ID: id, Dir: filepath.Join(runstate.Dir(), "runs", id)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// flip alternates which side of a paired benchmark goes first, across the
// lines of a -count run too.
var flip atomic.Int64

// benchCtx bounds one benchmark iteration.
func benchCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// reportSums reports each sum as a mean per iteration, and primary as
// ns/op.
func reportSums(b *testing.B, sums map[string]float64, primary string) {
	n := float64(b.N)
	b.ReportMetric(sums[primary]*1e6/n, "ns/op")
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		b.ReportMetric(sums[k]/n, k)
	}
}

// load1 is the 1-minute load average, reported beside samples that a
// shared machine's other work can distort.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
