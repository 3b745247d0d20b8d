package orbtest

// Benchmarks of orbtest on the backend present, side by side with the plain
// incus CLI sequence a careful user would write. scripts/bench.sh runs them
// with enough repetitions to quote a median and a spread and writes
// docs/BENCHMARKS.md from their output (see internal/bench/report).
//
// Every benchmark reports one sample per output line when run with
// -benchtime=1x (the slow ones) or a mean of b.N iterations (the fast
// ones); the figures are custom metrics in milliseconds or seconds, named
// after what they time, and ns/op is the primary orbtest figure. Each
// benchmark skips when no backend is available, and deletes every machine
// it creates; the run's reaper, started by the first benchmark, deletes
// whatever an interrupted run left.
//
// Environment: run them with a dedicated ORBTEST_STATE_DIR (bench.sh does)
// so that no other run's sweep competes with the timed work.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/runstate"
)

// benchChildEnv selects what TestBenchChild does in a child process.
const benchChildEnv = "ORBTEST_BENCH_CHILD"

// benchSpec is the machine of the cold, warm, run and lag benchmarks.
var benchSpec = Debian("bookworm")

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
var benchSuiteSpec = Debian("bookworm").WithSetup(benchSetup)

// Suite shape: 24 parallel tests on at most 4 machines.
const (
	benchSuiteTests    = 24
	benchSuiteParallel = 4
)

// benchEnv is the backend a benchmark runs on.
type benchEnv struct {
	d     backend.Driver
	incus string // the incus binary for the raw CLI side; "" on another backend
}

var benchReaperOnce sync.Once

// newBenchEnv returns the backend, or skips b when none is available. It
// starts the run's reaper once per process, so an interrupted benchmark
// leaves nothing behind.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	d, err := selectDriver(ctx, envBackend())
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			b.Skipf("skipping benchmark: %v", err)
		}
		b.Fatal(err)
	}
	benchReaperOnce.Do(func() {
		if os.Getenv("ORBTEST_NO_REAPER") == "1" {
			return
		}
		pid, start := runstate.Owner()
		run, err := runstate.OpenRun(runstate.Dir(), RunID(), runstate.RunInfo{
			OwnerPID: pid, OwnerStart: start, Backend: d.Name(), Remote: os.Getenv("ORBTEST_INCUS_REMOTE"),
		})
		if err == nil {
			err = startReaper(run)
		}
		if err != nil {
			b.Logf("no reaper: %v", err)
		}
	})
	e := &benchEnv{d: d}
	if d.Name() == "incus" && os.Getenv("ORBTEST_INCUS_REMOTE") == "" {
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
	var r [3]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%s-%s-%s", NamePrefix, RunID(), kind, hex.EncodeToString(r[:]))
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

// BenchmarkColdStart: StartVM(Debian("bookworm")) until ready, against
// `incus launch debian/bookworm NAME` followed by `incus exec NAME -- true`
// polled until it succeeds (raw-exec-ms) and then `incus list` polled until
// the machine has an IPv4 address (raw-ipv4-ms), which orbtest's readiness
// also waits for; and against launch then `incus list` alone polled until
// the address shows (raw-ipv4only-ms). The three run in each iteration, in
// rotating order; deletes are not timed.
func BenchmarkColdStart(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	ctx := benchCtx(b)
	b.StopTimer()
	var orb, rawExec, rawIP, rawIPOnly, dhcp time.Duration
	runOrb := func() {
		t0 := time.Now()
		vm, err := StartVM(ctx, benchSpec)
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		orb += d
		if got, ok := guestAddressTime(vm); ok {
			dhcp += got.Sub(t0)
		}
		if err := vm.Delete(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	// launchRaw launches a machine, polls exec until it works when
	// pollExec, then polls until it has an address.
	launchRaw := func(pollExec bool) (toExec, toIPv4 time.Duration) {
		name := rawName("raw000")
		defer e.rawDelete(name)
		t0 := time.Now()
		if err := e.raw(ctx, "launch", "debian/bookworm", name); err != nil {
			b.Fatalf("incus launch: %v", err)
		}
		if pollExec {
			te, err := e.waitExec(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			toExec = te.Sub(t0)
		}
		ti, err := e.waitIPv4(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		return toExec, ti.Sub(t0)
	}
	runRaw := func() {
		te, ti := launchRaw(true)
		rawExec += te
		rawIP += ti
	}
	runRawIPOnly := func() {
		_, ti := launchRaw(false)
		rawIPOnly += ti
	}
	for range b.N {
		sides := []func(){runOrb, runRaw, runRawIPOnly}
		k := int(flip.Add(1) % 3)
		for i := range sides {
			sides[(i+k)%3]()
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(orb.Nanoseconds())/n, "ns/op")
	b.ReportMetric(ms(orb)/n, "orbtest-ms")
	b.ReportMetric(ms(rawExec)/n, "raw-exec-ms")
	b.ReportMetric(ms(rawIP)/n, "raw-ipv4-ms")
	b.ReportMetric(ms(rawIPOnly)/n, "raw-ipv4only-ms")
	if dhcp > 0 {
		b.ReportMetric(ms(dhcp)/n, "orbtest-guest-dhcp-ms")
	}
}

// guestAddressTime returns when the guest's systemd-networkd got its DHCP
// address, from its journal: a container shares the host's clock, so this
// is the moment the address existed, measured without polling for it.
func guestAddressTime(vm *VM) (time.Time, bool) {
	res, err := vm.Shell(context.Background(), "journalctl -b -u systemd-networkd -o short-unix --no-pager | grep -m1 'DHCPv4 address' | cut -d' ' -f1")
	if err != nil {
		return time.Time{}, false
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(res.Stdout), 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(sec*1e9)), true
}

// benchTB is the testing.TB NewVM gets inside a benchmark: a test of its
// own whose cleanups run when run returns, so a lease can be released
// inside the benchmark loop.
type benchTB struct {
	testing.TB // nil: anything not overridden panics
	b          *testing.B
	mu         sync.Mutex
	failed     bool
	logs       []string
	cleanups   []func()
}

func (t *benchTB) Helper()                  {}
func (t *benchTB) Name() string             { return t.b.Name() }
func (t *benchTB) Context() context.Context { return context.Background() }
func (t *benchTB) Cleanup(fn func())        { t.mu.Lock(); t.cleanups = append(t.cleanups, fn); t.mu.Unlock() }
func (t *benchTB) Failed() bool             { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *benchTB) Logf(format string, args ...any) {
	t.mu.Lock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}
func (t *benchTB) Log(args ...any)                   { t.Logf("%s", fmt.Sprint(args...)) }
func (t *benchTB) Error(args ...any)                 { t.Log(args...); t.fail() }
func (t *benchTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.fail() }
func (t *benchTB) Fatal(args ...any)                 { t.Error(args...); runtime.Goexit() }
func (t *benchTB) Fatalf(format string, args ...any) { t.Errorf(format, args...); runtime.Goexit() }
func (t *benchTB) Skipf(format string, args ...any)  { t.Fatalf("skipped: "+format, args...) }
func (t *benchTB) fail()                             { t.mu.Lock(); t.failed = true; t.mu.Unlock() }

// lease runs NewVM(spec) as a test of its own and returns the machine, how
// long NewVM took, and release, which ends the test (resetting the
// machine) and returns how long that took.
func benchLease(b *testing.B, spec Spec) (vm *VM, took time.Duration, release func() time.Duration) {
	b.Helper()
	t := &benchTB{b: b}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		vm = NewVM(t, spec)
		took = time.Since(t0)
	}()
	<-done
	release = func() time.Duration {
		t0 := time.Now()
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
		d := time.Since(t0)
		if t.Failed() {
			b.Fatalf("release failed:\n%s", strings.Join(t.logs, "\n"))
		}
		return d
	}
	if vm == nil || t.Failed() {
		release()
		b.Fatalf("NewVM failed:\n%s", strings.Join(t.logs, "\n"))
	}
	return vm, took, release
}

// benchDrainPool deletes this process's pool machines and templates of
// the run: what the reaper would do at exit, done now so that no idle
// machine outlives the benchmark that made it.
func benchDrainPool(b *testing.B, e *benchEnv) {
	b.Helper()
	c := defaultConfig()
	v, ok := pools.Load(poolKey{e.d, c.stateDir, c.runID})
	if !ok {
		return
	}
	p := v.(*pool)
	recs, err := p.run.Records()
	if err != nil {
		b.Error(err)
		return
	}
	ctx := context.Background()
	for _, r := range recs {
		if err := retry(ctx, func(ctx context.Context) error { return e.d.Delete(ctx, r.Name) }); err != nil && !errors.Is(err, backend.ErrNotFound) {
			b.Errorf("delete %s: %v", r.Name, err)
			continue
		}
		_ = p.run.WithLock(func(tx *runstate.Tx) error { return tx.Remove(r.Name) })
	}
}

// BenchmarkWarmLease: NewVM for a spec that has an idle machine in the
// pool. in-process: acquire latency only, the pool already open in this
// process; the release (a reset) is timed apart as reset-ms.
// cross-process: a fresh child process of this test binary, joining this
// run, times its first NewVM, which includes the process's pool init
// (backend probe, run state, reaper check); cross-process-steps splits the
// same path into driverFor, poolFor and acquire.
func BenchmarkWarmLease(b *testing.B) {
	e := newBenchEnv(b)
	b.Cleanup(func() { benchDrainPool(b, e) })
	// Fill the pool: the first lease builds the template and a clone.
	_, _, release := benchLease(b, benchSpec)
	release()

	b.Run("in-process", func(b *testing.B) {
		b.StopTimer()
		var lease, reset time.Duration
		for range b.N {
			_, took, release := benchLease(b, benchSpec)
			lease += took
			reset += release()
		}
		n := float64(b.N)
		b.ReportMetric(float64(lease.Nanoseconds())/n, "ns/op")
		b.ReportMetric(ms(lease)/n, "lease-ms")
		b.ReportMetric(ms(reset)/n, "reset-ms")
	})
	for _, mode := range []string{"lease", "steps"} {
		name := "cross-process"
		if mode == "steps" {
			name += "-steps"
		}
		b.Run(name, func(b *testing.B) {
			b.StopTimer()
			sums := map[string]float64{}
			for range b.N {
				t0 := time.Now()
				out, err := benchChild(b, "lease-"+mode, []string{
					"ORBTEST_RUN_ID=" + RunID(),
					"ORBTEST_STATE_DIR=" + runstate.Dir(),
				})
				wall := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				m := childMetrics(out)
				if _, ok := m["lease-ms"]; !ok {
					b.Fatalf("child reported nothing:\n%s", out)
				}
				m["child-wall-ms"] = ms(wall)
				for k, v := range m {
					sums[k] += v
				}
			}
			n := float64(b.N)
			b.ReportMetric(sums["lease-ms"]*1e6/n, "ns/op")
			for _, k := range slices.Sorted(maps.Keys(sums)) {
				b.ReportMetric(sums[k]/n, k)
			}
		})
	}
}

// benchChild runs TestBenchChild in a child process of this test binary
// in mode, and returns its output.
func benchChild(b *testing.B, mode string, env []string, args ...string) (string, error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	argv := append([]string{"-test.run=^TestBenchChild$", "-test.v", "-test.count=1", "-test.timeout=30m"}, args...)
	cmd := exec.CommandContext(ctx, os.Args[0], argv...)
	cmd.Env = append(append(os.Environ(), benchChildEnv+"="+mode, "ORBTEST_REQUIRE=1", "ORBTEST_KEEP=never"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("child %s: %v\n%s", mode, err, out)
	}
	return string(out), nil
}

// childMetrics parses the "BENCHMETRIC name value" lines a child prints.
func childMetrics(out string) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "BENCHMETRIC" {
			if v, err := strconv.ParseFloat(f[2], 64); err == nil {
				m[f[1]] = v
			}
		}
	}
	return m
}

// TestBenchChild is what a benchmark's child process runs; it does nothing
// unless started by one.
func TestBenchChild(t *testing.T) {
	mode := os.Getenv(benchChildEnv)
	metric := func(name string, d time.Duration) { fmt.Printf("BENCHMETRIC %s %.3f\n", name, ms(d)) }
	switch mode {
	case "":
		t.Skip("run by the benchmarks in bench_test.go")
	case "lease-lease":
		// The whole of NewVM, first call in this process.
		var t1 time.Time
		t.Cleanup(func() { metric("reset-ms", time.Since(t1)) }) // runs after NewVM's, which resets
		t0 := time.Now()
		vm := NewVM(t, benchSpec)
		metric("lease-ms", time.Since(t0))
		t.Cleanup(func() { t1 = time.Now() }) // runs before NewVM's
		// The first command on a machine this process did not create or
		// reset, then a second one.
		for _, k := range []string{"first-run-ms", "second-run-ms"} {
			t0 := time.Now()
			if _, err := vm.Run(t.Context(), "true"); err != nil {
				t.Fatal(err)
			}
			metric(k, time.Since(t0))
		}
	case "lease-steps":
		// NewVM's path, step by step.
		t0 := time.Now()
		c, err := newConfig([]Option{WithLogf(t.Logf), benchSpec})
		if err != nil {
			t.Fatal(err)
		}
		d, err := driverFor(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		p, err := poolFor(t.Context(), d, c)
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		l, err := p.acquire(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		metric("lease-ms", t3.Sub(t0))
		metric("driver-ms", t1.Sub(t0))
		metric("poolinit-ms", t2.Sub(t1))
		metric("acquire-ms", t3.Sub(t2))
		if err := l.release(context.Background(), KeepNever, false); err != nil {
			t.Fatal(err)
		}
	case "suite-fresh", "suite-pool":
		for i := range benchSuiteTests {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				var vm *VM
				logf := WithLogf(benchStamped(t))
				if mode == "suite-pool" {
					vm = NewVM(t, benchSuiteSpec, logf, benchTraceOption(t))
					leased := time.Now()
					t.Cleanup(func() { benchAddressLag(t, vm, leased) })
				} else {
					var err error
					vm, err = StartVM(t.Context(), benchSuiteSpec, logf)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() {
						t0 := time.Now()
						if err := vm.Delete(context.Background()); err != nil {
							t.Error(err)
						}
						t.Logf("orbtest: deleted machine %s (%s)", vm.Name(), time.Since(t0).Round(time.Millisecond))
					})
				}
				benchSuiteBody(t, vm, i)
			})
		}
	default:
		t.Fatalf("unknown %s=%q", benchChildEnv, mode)
	}
}

var benchStart = time.Now()

// benchAddressLag logs how long after the guest got its IPv4 address
// (systemd-networkd's journal, on the host's clock: a container shares the
// kernel's) NewVM handed the machine over.
func benchAddressLag(t *testing.T, vm *VM, leased time.Time) {
	if got, ok := guestAddressTime(vm); ok {
		t.Logf("address lag %s", leased.Sub(got).Round(time.Millisecond))
	}
}

// benchStamped is t.Logf with the time since the process started, for
// reading a suite's timeline.
func benchStamped(t *testing.T) func(string, ...any) {
	return func(format string, args ...any) {
		t.Logf("[%7.3fs] %s", time.Since(benchStart).Seconds(), fmt.Sprintf(format, args...))
	}
}

// benchSuiteBody is one suite test: a few commands, one of which changes
// the machine, so that a pool machine must be reset for the next test.
func benchSuiteBody(t *testing.T, vm *VM, i int) {
	vm.MustRun(t, "test", "!", "-e", "/root/used-by-a-test") // a reused machine was reset
	sum := vm.MustShell(t, "sha256sum /srv/fixture.json | cut -d' ' -f1")
	if want := vm.MustRun(t, "cat", "/srv/fixture.sha256"); sum != want {
		t.Fatalf("fixture checksum %q, want %q", sum, want)
	}
	vm.MustShell(t, fmt.Sprintf("echo test %d > /root/used-by-a-test", i))
	if out := vm.MustRun(t, "ls", "/opt/pycache/usr/lib/python3.11"); !strings.Contains(out, "json") {
		t.Fatalf("no compiled stdlib: %q", out)
	}
}

var (
	setupRE = regexp.MustCompile(`setup step 1 of 1 done in (\S+)`)
	tplRE   = regexp.MustCompile(`template \S+ for .* built in (\S+)`)
	resetRE = regexp.MustCompile(`reset machine \S+ for the next test \((\S+)\)`)
	delRE   = regexp.MustCompile(`deleted machine \S+ \((\S+)\)`)
	readyRE = regexp.MustCompile(`machine \S+ ready after (\S+) \(`)
	// addrLagRE: how long after the guest got its address the test had it.
	addrLagRE = regexp.MustCompile(`address lag (\S+)`)
)

// logDurations returns the durations re's first group matches in out.
func logDurations(out string, re *regexp.Regexp) []time.Duration {
	var ds []time.Duration
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			ds = append(ds, d)
		}
	}
	return ds
}

func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkSuite: the wall time of a child `go test` process running 24
// parallel tests (-parallel 4, ORBTEST_MAX_VMS=4) on a spec with a setup
// step of a few seconds, each with a machine of its own (fresh: StartVM,
// create + setup every time, deleted by the test) or leased from the pool
// (pool: NewVM; the run starts with an empty pool, so its template build
// and clones are included). The pool's leftover machines are deleted after
// the child exits, untimed, as the run's reaper does after `go test`
// returns.
func BenchmarkSuite(b *testing.B) {
	e := newBenchEnv(b)
	b.StopTimer()
	sums := map[string]float64{}
	for range b.N {
		sums["load1"] += load1()
		modes := []string{"fresh", "pool"}
		if flip.Add(1)%2 == 0 {
			slices.Reverse(modes)
		}
		for _, mode := range modes {
			run := benchChildRunID()
			t0 := time.Now()
			out, err := benchChild(b, "suite-"+mode, []string{
				"ORBTEST_RUN_ID=" + run,
				"ORBTEST_STATE_DIR=" + runstate.Dir(),
				"ORBTEST_MAX_VMS=" + strconv.Itoa(benchSuiteParallel),
			}, "-test.parallel="+strconv.Itoa(benchSuiteParallel))
			wall := time.Since(t0)
			benchDeleteRun(b, e, run)
			if err != nil {
				b.Fatal(err)
			}
			sums[mode+"-s"] += wall.Seconds()
			if mode == "fresh" {
				sums["fresh-setup-s"] += medianDur(logDurations(out, setupRE)).Seconds()
				sums["fresh-ready-s"] += medianDur(logDurations(out, readyRE)).Seconds()
				sums["fresh-delete-ms"] += ms(medianDur(logDurations(out, delRE)))
			} else {
				sums["pool-template-s"] += medianDur(logDurations(out, tplRE)).Seconds()
				sums["pool-setup-s"] += medianDur(logDurations(out, setupRE)).Seconds()
				sums["pool-reset-ms"] += ms(medianDur(logDurations(out, resetRE)))
				sums["pool-clone-ready-ms"] += ms(medianDur(logDurations(out, readyRE)))
				sums["pool-address-lag-ms"] += ms(medianDur(logDurations(out, addrLagRE)))
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(sums["pool-s"]*1e9/n, "ns/op")
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		b.ReportMetric(sums[k]/n, k)
	}
}

// benchChildRunID is a new run ID for a suite child: this run's ID and a
// suffix when it fits, so that scripts/bench.sh can find by name anything
// the child's run left.
func benchChildRunID() string {
	if id := RunID(); len(id) <= 11 {
		return id + "s" + hex.EncodeToString(randBytes(2))
	}
	return "bs" + hex.EncodeToString(randBytes(4))
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

// benchDeleteRun deletes what a child's run left (the pool's idle
// machines and template) and waits until none is listed and the run's
// reaper has finished, so the next timed run starts on a quiet backend.
func benchDeleteRun(b *testing.B, e *benchEnv, id string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := &runstate.Run{ID: id, Dir: runstate.Dir() + "/runs/" + id}
	for {
		ms, err := e.d.List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var left []string
		for _, m := range ms {
			if runstate.RunOf(m.Name) == id {
				left = append(left, m.Name)
			}
		}
		reaping := runstate.Held(run.ReaperLock())
		if len(left) == 0 && !reaping {
			return
		}
		if len(left) > 0 && !reaping {
			for _, name := range left {
				_ = retry(ctx, func(ctx context.Context) error { return e.d.Delete(ctx, name) })
			}
		}
		if ctx.Err() != nil {
			b.Fatalf("run %s: machines left: %v", id, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// BenchmarkRun: vm.Run(ctx, "true") against `incus exec NAME -- true`, and
// a command printing 1 MiB, on one running machine; each iteration runs
// both, alternating which goes first.
func BenchmarkRun(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	ctx := benchCtx(b)
	vm, err := StartVM(ctx, benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = vm.Delete(context.Background()) })
	for _, tc := range []struct {
		name string
		argv []string
		size int
	}{
		{"true", []string{"true"}, 0},
		{"1MiB", []string{"head", "-c", "1048576", "/dev/zero"}, 1 << 20},
	} {
		orbArgs := recordExecArgv(b, vm, tc.argv)
		b.Run(tc.name, func(b *testing.B) {
			b.StopTimer()
			var orb, raw, rawOrbArgs time.Duration
			for range b.N {
				t0 := time.Now()
				out, err := e.rawOut(ctx, orbArgs...)
				rawOrbArgs += time.Since(t0)
				if err != nil || len(out) != tc.size {
					b.Fatalf("incus %v: %v (%d bytes)", orbArgs, err, len(out))
				}
				runOrb := func() {
					t0 := time.Now()
					res, err := vm.Run(ctx, tc.argv[0], tc.argv[1:]...)
					orb += time.Since(t0)
					if err != nil || len(res.Stdout) != tc.size {
						b.Fatalf("vm.Run: %v (%d bytes)", err, len(res.orEmpty().Stdout))
					}
				}
				runRaw := func() {
					t0 := time.Now()
					out, err := e.rawOut(ctx, append([]string{"exec", vm.Name(), "--"}, tc.argv...)...)
					raw += time.Since(t0)
					if err != nil || len(out) != tc.size {
						b.Fatalf("incus exec: %v (%d bytes)", err, len(out))
					}
				}
				if flip.Add(1)%2 == 0 {
					runOrb()
					runRaw()
				} else {
					runRaw()
					runOrb()
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(orb.Nanoseconds())/n, "ns/op")
			b.ReportMetric(ms(orb)/n, "orbtest-ms")
			b.ReportMetric(ms(raw)/n, "raw-ms")
			b.ReportMetric(ms(rawOrbArgs)/n, "raw-orbtest-argv-ms")
		})
	}
}

// recordExecArgv returns the arguments the incus driver passes to the incus
// binary for vm.Run(argv) as root, the default user of benchSpec: the
// driver is pointed at a script that prints them.
func recordExecArgv(b *testing.B, vm *VM, argv []string) []string {
	b.Helper()
	script := b.TempDir() + "/incus-argv"
	if err := os.WriteFile(script, []byte("#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	code, err := incus.New(script).Exec(context.Background(), vm.Name(), backend.ExecRequest{Argv: argv, User: "root", Stdout: &out})
	if err != nil || code != 0 {
		b.Fatalf("record argv: %d %v", code, err)
	}
	args := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
	if len(args) < 3 || args[0] != "exec" {
		b.Fatalf("recorded argv %q", args)
	}
	return args
}

// lagPoller polls, from the moment it starts, `incus exec NAME -- argv`
// back to back until it succeeds, then `incus list` until the machine has
// an IPv4 address.
type lagPoller struct {
	exec, ipv4 time.Time
	done       chan struct{}
	cancel     context.CancelFunc
}

func (e *benchEnv) startLagPoller(name string, argv ...string) *lagPoller {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p := &lagPoller{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		var err error
		if p.exec, err = e.waitExec(ctx, name, argv...); err != nil {
			return
		}
		p.ipv4, _ = e.waitIPv4(ctx, name)
	}()
	return p
}

func (p *lagPoller) wait() { <-p.done; p.cancel() }

// BenchmarkReadinessLag: how long after the machine can first run a
// command (a parallel goroutine polling raw `incus exec NAME -- true`
// back to back) orbtest hands it over. StartVM: StartVM's path with a
// name known in advance. reset: a pool machine's release (restore and
// readiness wait), the poller waiting for the restored machine.
// exec-ms and ipv4-ms are when the poller first saw each, from the start.
func BenchmarkReadinessLag(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	b.Run("StartVM", func(b *testing.B) {
		b.StopTimer()
		ctx := benchCtx(b)
		sums := map[string]float64{}
		for range b.N {
			c, err := newConfig([]Option{benchSpec})
			if err != nil {
				b.Fatal(err)
			}
			d, err := driverFor(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			vm := &VM{name: machineName(c.spec), spec: c.spec, driver: d, logf: c.logf}
			poll := e.startLagPoller(vm.name)
			t0 := time.Now()
			err = vm.start(ctx, c)
			tr := time.Now()
			poll.wait()
			_ = vm.Delete(context.Background())
			if err != nil || poll.exec.IsZero() || poll.ipv4.IsZero() {
				b.Fatalf("start: %v (poller saw exec %v, ipv4 %v)", err, !poll.exec.IsZero(), !poll.ipv4.IsZero())
			}
			sums["lag-ms"] += ms(tr.Sub(poll.exec))
			sums["lag-after-ipv4-ms"] += ms(tr.Sub(poll.ipv4))
			sums["exec-ms"] += ms(poll.exec.Sub(t0))
			sums["ipv4-ms"] += ms(poll.ipv4.Sub(t0))
			sums["ready-ms"] += ms(tr.Sub(t0))
		}
		reportSums(b, sums, "lag-ms")
	})
	b.Cleanup(func() { benchDrainPool(b, e) })
	b.Run("reset", func(b *testing.B) {
		b.StopTimer()
		const marker = "/root/.orbtest-bench-lag"
		sums := map[string]float64{}
		for range b.N {
			vm, _, release := benchLease(b, benchSpec)
			if _, err := vm.Run(context.Background(), "touch", marker); err != nil {
				b.Fatal(err)
			}
			poll := e.startLagPoller(vm.Name(), "test", "!", "-e", marker)
			t0 := time.Now()
			release()
			tr := time.Now()
			poll.wait()
			if poll.exec.IsZero() || poll.ipv4.IsZero() {
				b.Fatalf("poller saw exec %v, ipv4 %v", !poll.exec.IsZero(), !poll.ipv4.IsZero())
			}
			sums["lag-ms"] += ms(tr.Sub(poll.exec))
			sums["lag-after-ipv4-ms"] += ms(tr.Sub(poll.ipv4))
			sums["exec-ms"] += ms(poll.exec.Sub(t0))
			sums["ipv4-ms"] += ms(poll.ipv4.Sub(t0))
			sums["ready-ms"] += ms(tr.Sub(t0))
		}
		reportSums(b, sums, "lag-ms")
	})
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

// BenchmarkResetOptions times, with the plain CLI, the ways to bring a
// clone of a stopped template back to its snapshot, each until the
// machine runs a command (-exec-ms) and has an IPv4 address (-ipv4-ms),
// cumulative from the first command:
//
//	restore:  `incus snapshot restore` of the running machine (what the pool does)
//	force:    `incus stop --force`, restore, `incus start`
//	clean:    `incus stop` (clean shutdown), restore, `incus start`
//	recopy:   `incus delete --force`, `incus copy TEMPLATE`, `incus start`
func BenchmarkResetOptions(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	ctx := benchCtx(b)
	tpl, name := rawName("rst000"), rawName("rst000")
	b.Cleanup(func() { e.rawDelete(name); e.rawDelete(tpl) })
	must := func(b *testing.B, args ...string) {
		if out, err := exec.CommandContext(ctx, e.incus, args...).CombinedOutput(); err != nil {
			b.Fatalf("incus %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ready := func(b *testing.B, name string) (time.Time, time.Time) {
		te, err := e.waitExec(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		ti, err := e.waitIPv4(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		return te, ti
	}
	// A stopped template and a running clone with a snapshot, as the pool
	// makes them.
	must(b, "launch", "debian/bookworm", tpl)
	ready(b, tpl)
	must(b, "stop", tpl)
	must(b, "copy", tpl, name, "--instance-only")
	must(b, "start", name)
	ready(b, name)
	must(b, "snapshot", "create", name, "clean")
	b.Run("cycle", func(b *testing.B) {
		b.StopTimer()
		sums := map[string]float64{}
		add := func(k string, d time.Duration) { sums[k] += ms(d) }
		for range b.N {
			// restore
			t0 := time.Now()
			must(b, "snapshot", "restore", name, "clean")
			t1 := time.Now()
			te, ti := ready(b, name)
			add("restore-cmd-ms", t1.Sub(t0))
			add("restore-exec-ms", te.Sub(t0))
			add("restore-ipv4-ms", ti.Sub(t0))
			// force
			t0 = time.Now()
			must(b, "stop", "--force", name)
			t1 = time.Now()
			must(b, "snapshot", "restore", name, "clean")
			t2 := time.Now()
			must(b, "start", name)
			t3 := time.Now()
			te, ti = ready(b, name)
			add("force-stop-ms", t1.Sub(t0))
			add("force-restore-ms", t2.Sub(t1))
			add("force-start-ms", t3.Sub(t2))
			add("force-exec-ms", te.Sub(t0))
			add("force-ipv4-ms", ti.Sub(t0))
			// clean
			t0 = time.Now()
			must(b, "stop", name)
			t1 = time.Now()
			must(b, "snapshot", "restore", name, "clean")
			must(b, "start", name)
			te, ti = ready(b, name)
			add("clean-stop-ms", t1.Sub(t0))
			add("clean-exec-ms", te.Sub(t0))
			add("clean-ipv4-ms", ti.Sub(t0))
			// recopy
			t0 = time.Now()
			must(b, "delete", "--force", name)
			t1 = time.Now()
			must(b, "copy", tpl, name, "--instance-only")
			t2 = time.Now()
			must(b, "start", name)
			t3 = time.Now()
			te, ti = ready(b, name)
			add("recopy-delete-ms", t1.Sub(t0))
			add("recopy-copy-ms", t2.Sub(t1))
			add("recopy-start-ms", t3.Sub(t2))
			add("recopy-exec-ms", te.Sub(t0))
			add("recopy-ipv4-ms", ti.Sub(t0))
			must(b, "snapshot", "create", name, "clean") // untimed: back to a pool machine
		}
		reportSums(b, sums, "restore-ipv4-ms")
	})
}

// BenchmarkInspect: what the driver's Inspect costs (every readiness poll
// and a reset make several), against a single-instance query, as the
// number of instances on the server grows: the incus CLI's
// `list ^NAME$ --format json` fetches every instance with its state and
// filters on the client.
func BenchmarkInspect(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	ctx := benchCtx(b)
	var names []string
	b.Cleanup(func() {
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() { e.rawDelete(n) })
		}
		wg.Wait()
	})
	launch := func(k int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 4)
		for range k {
			name := rawName("ins000")
			mu.Lock()
			names = append(names, name)
			mu.Unlock()
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := e.raw(ctx, "launch", "debian/bookworm", name); err != nil {
					b.Errorf("launch %s: %v", name, err)
				}
			})
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	launch(1)
	target := names[0]
	countAll := func() int {
		ms, err := e.d.List(ctx)
		if err != nil {
			return -1
		}
		return len(ms)
	}
	for _, want := range []int{1, 8, 16} {
		if have := len(names); want > have {
			launch(want - have)
		}
		time.Sleep(2 * time.Second) // let the new machines boot
		b.Run(fmt.Sprintf("ours=%d", want), func(b *testing.B) {
			b.StopTimer()
			var insp, query time.Duration
			for range b.N {
				t0 := time.Now()
				if _, err := e.d.Inspect(ctx, target); err != nil {
					b.Fatal(err)
				}
				insp += time.Since(t0)
				t0 = time.Now()
				if _, err := e.rawOut(ctx, "query", "/1.0/instances/"+target+"?recursion=1"); err != nil {
					b.Fatal(err)
				}
				query += time.Since(t0)
			}
			n := float64(b.N)
			b.ReportMetric(float64(insp.Nanoseconds())/n, "ns/op")
			b.ReportMetric(ms(insp)/n, "inspect-ms")
			b.ReportMetric(ms(query)/n, "query-one-ms")
			b.ReportMetric(float64(countAll()), "instances")
		})
	}
}
