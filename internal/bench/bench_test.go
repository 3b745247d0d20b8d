package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backend"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/naming"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

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
		vm, err := orbtest.StartVM(ctx, benchSpec)
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

// BenchmarkWarmLease: NewVM for a spec that has an idle machine in the
// pool. in-process: acquire latency only, the pool already open in this
// process; the release (a reset) is timed apart as reset-ms.
// cross-process: a fresh child process of this test binary, joining this
// run, times its first NewVM, which includes the process's pool init
// (backend probe, run state, reaper check); cross-process-steps splits the
// same path into the backend's selection (Available), the pool's init (what
// the child's first NewVM costs beyond its second) and acquire (the second).
func BenchmarkWarmLease(b *testing.B) {
	e := newBenchEnv(b)
	b.Cleanup(func() { drainRun(b, e) })
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
					env.RunID + "=" + orbtest.RunID(),
					env.StateDir + "=" + runstate.Dir(),
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

// BenchmarkSuite: the wall time of a child `go test` process running 24
// parallel tests (-parallel 4, ORBTEST_MAX_VMS=4) on a spec with a setup
// step of a few seconds, each with a machine of its own (fresh: StartVM,
// create + setup every time, deleted by the test) or leased from the pool
// (pool: NewVM; the run starts with an empty pool, so its template build
// and clones are included). The pool's leftover machines are deleted after
// the child exits, untimed, as the run's reaper does after `go test`
// returns. With ORBTEST_BENCH_TRACE=1 it logs the child's output, which
// then traces its backend calls (see trace_test.go).
func BenchmarkSuite(b *testing.B) { benchSuite(b, "") }

// BenchmarkSuitePackages is BenchmarkSuite with a setup step that installs
// packages, as users' setups do (benchPackagesSetup).
func BenchmarkSuitePackages(b *testing.B) { benchSuite(b, "packages") }

func benchSuite(b *testing.B, suite string) {
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
				env.RunID + "=" + run,
				env.StateDir + "=" + runstate.Dir(),
				env.MaxVMs + "=" + strconv.Itoa(SuiteParallel),
				suiteEnv + "=" + suite,
			}, "-test.parallel="+strconv.Itoa(SuiteParallel))
			wall := time.Since(t0)
			benchDeleteRun(b, e, run)
			if err != nil {
				b.Fatal(err)
			}
			if os.Getenv(traceEnv) == "1" {
				b.Logf("suite-%s child, run %s:\n%s", mode, run, out)
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
	if id := orbtest.RunID(); len(id) <= 11 {
		return id + "s" + hex.EncodeToString(randBytes(2))
	}
	return "bs" + hex.EncodeToString(randBytes(4))
}

// benchDeleteRun deletes what a child's run left (the pool's idle
// machines and template) and waits until none is listed and the run's
// reaper has finished, so the next timed run starts on a quiet backend.
func benchDeleteRun(b *testing.B, e *benchEnv, id string) {
	b.Helper()
	benchDeleteRunOf(b, e.d, runState(id))
}

// benchDeleteRunOf is benchDeleteRun for run, on driver d.
func benchDeleteRunOf(b *testing.B, d backend.Driver, run *runstate.Run) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := run.ID
	for {
		ms, err := d.List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var left []string
		for _, m := range ms {
			if naming.RunOf(m.Name) == id {
				left = append(left, m.Name)
			}
		}
		reaping := runstate.Held(run.ReaperLock())
		if len(left) == 0 && !reaping {
			return
		}
		if len(left) > 0 && !reaping {
			for _, name := range left {
				_ = backend.Retry(ctx, func(ctx context.Context) error { return d.Delete(ctx, name) })
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
	vm, err := orbtest.StartVM(ctx, benchSpec)
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
				// The guard's output: the command's and its end record.
				if err != nil || len(out) < tc.size {
					b.Fatalf("incus %v: %v (%d bytes)", orbArgs, err, len(out))
				}
				runOrb := func() {
					t0 := time.Now()
					res, err := vm.Run(ctx, tc.argv[0], tc.argv[1:]...)
					orb += time.Since(t0)
					if err != nil || len(res.Stdout) != tc.size {
						b.Fatalf("vm.Run: %v (%d bytes)", err, resultLen(res))
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
func recordExecArgv(b *testing.B, vm *orbtest.VM, argv []string) []string {
	b.Helper()
	script := b.TempDir() + "/incus-argv"
	// It answers as the guard would, so that Exec completes.
	body := "#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done >\"$0.args\"\n" +
		"while [ \"$1\" != orbtest-exec ]; do shift; done\n" +
		"printf '\\036orbtest:%s:end:0\\n' \"$2\"; printf '\\036orbtest:%s:end:0\\n' \"$2\" >&2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		b.Fatal(err)
	}
	code, err := incus.New(script).Exec(context.Background(), vm.Name(), backend.ExecRequest{Argv: argv, User: "root"})
	if err != nil || code != 0 {
		b.Fatalf("record argv: %d %v", code, err)
	}
	out, err := os.ReadFile(script + ".args")
	if err != nil {
		b.Fatal(err)
	}
	args := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
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

// creatingRE is the lifecycle line StartVM logs before it creates a
// machine.
var creatingRE = regexp.MustCompile(`creating machine (\S+) \(`)

// BenchmarkReadinessLag: how long after the machine can first run a
// command (a parallel goroutine polling raw `incus exec NAME -- true`
// back to back) orbtest hands it over. StartVM: StartVM, the poller
// started on the name StartVM logs as it begins to create the machine.
// reset: a pool machine's release (restore and readiness wait), the poller
// waiting for the restored machine. exec-ms and ipv4-ms are when the
// poller first saw each, from the start.
func BenchmarkReadinessLag(b *testing.B) {
	e := newBenchEnv(b)
	e.needRaw(b)
	b.Run("StartVM", func(b *testing.B) {
		b.StopTimer()
		ctx := benchCtx(b)
		sums := map[string]float64{}
		for range b.N {
			// StartVM logs the machine's name just before it creates the
			// machine: the poller starts there, and so does the clock.
			var (
				mu      sync.Mutex
				started *lagPoller
				start   time.Time
			)
			logf := func(format string, args ...any) {
				m := creatingRE.FindStringSubmatch(fmt.Sprintf(format, args...))
				mu.Lock()
				defer mu.Unlock()
				if m != nil && started == nil {
					started = e.startLagPoller(m[1])
					start = time.Now()
				}
			}
			vm, err := orbtest.StartVM(ctx, benchSpec, orbtest.WithLogf(logf))
			tr := time.Now()
			mu.Lock()
			poll, t0 := started, start
			mu.Unlock()
			if poll == nil {
				b.Fatalf("StartVM logged no %q line to take the machine's name from (err: %v)", creatingRE, err)
			}
			if err != nil {
				poll.cancel()
			}
			poll.wait()
			if vm != nil {
				_ = vm.Delete(context.Background())
			}
			if err != nil || poll.exec.IsZero() || poll.ipv4.IsZero() {
				b.Fatalf("StartVM: %v (poller saw exec %v, ipv4 %v)", err, !poll.exec.IsZero(), !poll.ipv4.IsZero())
			}
			sums["lag-ms"] += ms(tr.Sub(poll.exec))
			sums["lag-after-ipv4-ms"] += ms(tr.Sub(poll.ipv4))
			sums["exec-ms"] += ms(poll.exec.Sub(t0))
			sums["ipv4-ms"] += ms(poll.ipv4.Sub(t0))
			sums["ready-ms"] += ms(tr.Sub(t0))
		}
		reportSums(b, sums, "lag-ms")
	})
	b.Cleanup(func() { drainRun(b, e) })
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

// resultLen is the length of what a command printed, 0 without a result.
func resultLen(res *orbtest.Result) int {
	if res == nil {
		return 0
	}
	return len(res.Stdout)
}
