package main

// The report: medians and spreads of the benchmark output, per target, with
// what was measured beside each miss. render is all of it, from the text
// of `go test -bench` and the run's facts to the Markdown; it reads no file.

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/orbtest/go-orbtest/internal/bench"
)

// render returns docs/BENCHMARKS.md for the output of one run of the
// benchmarks and the facts about the machine and the run in meta.
func render(benchOutput string, meta map[string]string) string {
	return benchReport(parseBenchOutput(benchOutput), meta)
}

// benchData holds every sample: benchmark name -> unit -> one value per
// output line, in line order.
type benchData map[string]map[string][]float64

func parseBenchOutput(text string) benchData {
	d := benchData{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if d[name] == nil {
			d[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			d[name][f[i+1]] = append(d[name][f[i+1]], v)
		}
	}
	return d
}

type stats struct {
	n                       int
	min, p25, med, p75, max float64
}

func statsOf(v []float64) stats {
	if len(v) == 0 {
		return stats{min: math.NaN(), p25: math.NaN(), med: math.NaN(), p75: math.NaN(), max: math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 {
		x := p * float64(len(s)-1)
		lo := int(math.Floor(x))
		hi := int(math.Ceil(x))
		return s[lo] + (s[hi]-s[lo])*(x-float64(lo))
	}
	return stats{n: len(s), min: s[0], p25: q(0.25), med: q(0.5), p75: q(0.75), max: s[len(s)-1]}
}

func (d benchData) get(name, unit string) stats { return statsOf(d[name][unit]) }

// ratios returns a/b line by line.
func (d benchData) ratios(name, a, b string) []float64 {
	va, vb := d[name][a], d[name][b]
	var r []float64
	for i := range min(len(va), len(vb)) {
		if vb[i] != 0 {
			r = append(r, va[i]/vb[i])
		}
	}
	return r
}

// num formats a figure with sensible precision.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func (s stats) row(what, unit string) string {
	return fmt.Sprintf("| %s | %s %s | %s – %s | %s – %s | %d |", what, num(s.med), unit, num(s.p25), num(s.p75), num(s.min), num(s.max), s.n)
}

const statsHeader = "| | median | p25 – p75 | min – max | n |\n|---|---|---|---|---|"

func yesNo(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

// parseMeta parses the KEY=VALUE lines scripts/bench.sh writes about the
// machine and the run; a value may contain "=".
func parseMeta(text string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), "="); ok {
			m[k] = v
		}
	}
	return m
}

func benchReport(d benchData, meta map[string]string) string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	p("# Benchmarks")
	p("")
	p("Written by `scripts/bench.sh` from one run of the benchmarks in `internal/bench`; do not edit by hand, re-run the script.")
	p("Every figure is the median over the samples (one benchmark output line each) with its interquartile range (p25 – p75) and range.")
	p("Ratios are ratios of medians; where the two sides were measured in pairs (same line, order alternating), the median of the per-pair ratios is given too.")
	p("")
	p("## Machine and run")
	p("")
	p("| | |\n|---|---|")
	for _, k := range []string{"date", "command", "cpu", "nproc", "memory", "kernel", "backend", "incus", "storage", "go", "load-before", "load-after", "load-per-group"} {
		if v, ok := meta[k]; ok {
			p("| %s | %s |", k, v)
		}
	}
	p("")
	p("The machine is shared: the 1-minute load average was polled until below the threshold before the run (load-before), and is shown after it (load-after), which includes the benchmarks' own load.")
	p("")

	// Summary.
	cold := d.get("BenchmarkColdStart", "orbtest-ms")
	rawExec := d.get("BenchmarkColdStart", "raw-exec-ms")
	rawIP := d.get("BenchmarkColdStart", "raw-ipv4-ms")
	rawIPOnly := d.get("BenchmarkColdStart", "raw-ipv4only-ms")
	coldRatio := cold.med / rawExec.med
	warmIn := d.get("BenchmarkWarmLease/in-process", "lease-ms")
	warmInReset := d.get("BenchmarkWarmLease/in-process", "reset-ms")
	warmX := d.get("BenchmarkWarmLease/cross-process", "lease-ms")
	warmXReset := d.get("BenchmarkWarmLease/cross-process", "reset-ms")
	fresh := d.get("BenchmarkSuite", "fresh-s")
	pooled := d.get("BenchmarkSuite", "pool-s")
	suiteRatio := fresh.med / pooled.med
	runTrue := [2]stats{d.get("BenchmarkRun/true", "orbtest-ms"), d.get("BenchmarkRun/true", "raw-ms")}
	run1M := [2]stats{d.get("BenchmarkRun/1MiB", "orbtest-ms"), d.get("BenchmarkRun/1MiB", "raw-ms")}
	ovTrue := runTrue[0].med/runTrue[1].med - 1
	ov1M := run1M[0].med/run1M[1].med - 1
	const runTarget = 0.10 // vm.Run within 1.10× of the raw exec
	lag := d.get("BenchmarkReadinessLag/StartVM", "lag-ms")
	lagReset := d.get("BenchmarkReadinessLag/reset", "lag-ms")

	gd0 := d.get("BenchmarkColdStart", "orbtest-guest-dhcp-ms")
	ga0 := [2]stats{d.get("BenchmarkRun/true", "raw-orbtest-argv-ms"), d.get("BenchmarkRun/1MiB", "raw-orbtest-argv-ms")}
	lagIP := [2]stats{d.get("BenchmarkReadinessLag/StartVM", "lag-after-ipv4-ms"), d.get("BenchmarkReadinessLag/reset", "lag-after-ipv4-ms")}
	// Reset options, to say which is cheapest.
	opts := []string{"restore", "force", "clean", "recopy"}
	best, bestV := "", math.Inf(1)
	for _, o := range opts {
		if v := d.get("BenchmarkResetOptions/cycle", o+"-ipv4-ms").med; v < bestV {
			best, bestV = o, v
		}
	}
	restoreV := d.get("BenchmarkResetOptions/cycle", "restore-ipv4-ms").med
	cheapest := "the cheapest of the four ways measured (§3, reset options)"
	if best != "restore" {
		cheapest = fmt.Sprintf("within %.0f %% of the cheapest way measured (§3, reset options: %s, %s ms)", 100*(restoreV/bestV-1), best, num(bestV))
	}
	why := func(ok bool, reason string) string {
		if ok {
			return ""
		}
		return reason
	}
	p("## Summary")
	p("")
	p("| # | what | measured (median) | target | | measured reason when missed |")
	p("|---|---|---|---|---|---|")
	p("| 1 | cold machine: StartVM ÷ raw `incus launch` + poll `incus exec true` | %s ms ÷ %s ms = **%s×** | ≤ 1.10× | %s | %s |", num(cold.med), num(rawExec.med), num(coldRatio), yesNo(coldRatio <= 1.10),
		why(coldRatio <= 1.10, fmt.Sprintf("readiness includes an IPv4 address: the guest's DHCP completes %s ms after StartVM starts, exec works at %s ms; StartVM returns %s ms after DHCP. Same readiness by raw CLI: %s ms (orbtest %s×)", num(gd0.med), num(rawExec.med), num(cold.med-gd0.med), num(rawIPOnly.med), num(cold.med/rawIPOnly.med))))
	p("| 2a | warm lease, one process (acquire only) | **%s ms** | ≤ 5 ms | %s | |", num(warmIn.med), yesNo(warmIn.med <= 5))
	p("| 2b | warm lease, fresh child process (first NewVM, with pool init) | **%s ms** | ≤ 50 ms | %s | %s |", num(warmX.med), yesNo(warmX.med <= 50),
		why(warmX.med <= 50, "see §2: probe and pool init"))
	p("| 3 | suite of %d tests, fresh ÷ pool wall time | %s s ÷ %s s = **%s×** | ≥ 5× | %s | %s |", bench.SuiteTests, num(fresh.med), num(pooled.med), num(suiteRatio), yesNo(suiteRatio >= 5),
		why(suiteRatio >= 5, fmt.Sprintf("the setup saved is %s s; each of the %d rounds costs a reset of %s ms (4 at once; %s ms alone: Incus force stop + start + guest boot to DHCP); the pool's restore is %s", num(d.get("BenchmarkSuite", "pool-setup-s").med), bench.SuiteTests/bench.SuiteParallel, num(d.get("BenchmarkSuite", "pool-reset-ms").med), num(warmInReset.med), cheapest)))
	p("| 4a | vm.Run(\"true\") ÷ raw `incus exec NAME -- true` | %s ms ÷ %s ms = **%s×** | ≤ 1.10× | %s | %s |", num(runTrue[0].med), num(runTrue[1].med), num(1+ovTrue), yesNo(ovTrue <= runTarget),
		why(ovTrue <= runTarget, fmt.Sprintf("the command guard (a second sh in its own session, the end records and their acknowledgement): raw incus with vm.Run's exact argv takes %s ms; orbtest's Go side adds %+.1f ms", num(ga0[0].med), runTrue[0].med-ga0[0].med)))
	p("| 4b | vm.Run of a 1 MiB output ÷ raw | %s ms ÷ %s ms = **%s×** | ≤ 1.10× | %s | %s |", num(run1M[0].med), num(run1M[1].med), num(1+ov1M), yesNo(ov1M <= runTarget),
		why(ov1M <= runTarget, fmt.Sprintf("same: raw incus with vm.Run's exact argv takes %s ms; Go side %+.1f ms", num(ga0[1].med), run1M[0].med-ga0[1].med)))
	p("| 5a | readiness lag, StartVM (return − first possible command) | **%s ms** | ≤ 100 ms | %s | %s |", num(lag.med), yesNo(lag.med <= 100),
		why(lag.med <= 100, fmt.Sprintf("the wait for the DHCP address; StartVM returns %s ms after the address shows", num(lagIP[0].med))))
	p("| 5b | readiness lag, pool reset (release return − first possible command) | **%s ms** | ≤ 100 ms | %s | %s |", num(lagReset.med), yesNo(lagReset.med <= 100),
		why(lagReset.med <= 100, fmt.Sprintf("same; the reset returns %s ms after the address shows", num(lagIP[1].med))))
	p("%s", cacheRow("6", d))
	p(goExecRow(d))
	p("")
	p("Reset time (at release, off the lease path): **%s ms** median in one process, %s ms in the child processes.", num(warmInReset.med), num(warmXReset.med))
	p("")

	// 1.
	p("## 1. Cold machine")
	p("")
	p("`BenchmarkColdStart`: `StartVM(Debian(\"bookworm\"))` until it returns, against the plain CLI: `incus launch debian/bookworm NAME` then `incus exec NAME -- true` polled back to back until it succeeds (then `incus list ^NAME$ -c4` polled until an IPv4 address shows), and `incus launch` then only `incus list` polled until the address shows. All three run in each sample, in rotating order; deletes are untimed.")
	p("")
	p(statsHeader)
	p(cold.row("orbtest StartVM", "ms"))
	p(rawExec.row("raw: launch → exec succeeds", "ms"))
	p(rawIP.row("raw: launch → exec succeeds → IPv4 shown", "ms"))
	p(rawIPOnly.row("raw: launch → IPv4 shown (polling `incus list` only)", "ms"))
	p(d.get("BenchmarkColdStart", "orbtest-guest-dhcp-ms").row("orbtest side: StartVM called → guest's DHCP address (its journal)", "ms"))
	p("")
	pr := statsOf(d.ratios("BenchmarkColdStart", "orbtest-ms", "raw-exec-ms"))
	pi := statsOf(d.ratios("BenchmarkColdStart", "orbtest-ms", "raw-ipv4only-ms"))
	p("Ratio orbtest ÷ raw-exec: **%s×** (per-sample median %s×; target ≤ 1.10×: %s). Like for like, orbtest ÷ raw launch-to-IPv4: **%s×** (per-sample median %s×).", num(coldRatio), num(pr.med), yesNo(coldRatio <= 1.10), num(cold.med/rawIPOnly.med), num(pi.med))
	p("")
	gd := d.get("BenchmarkColdStart", "orbtest-guest-dhcp-ms")
	if gd.n > 0 {
		p("Where orbtest's time goes (medians): the guest's systemd-networkd logs its DHCP address **%s ms** after StartVM is called (its journal, on the host's clock; no polling), and StartVM returns %s ms after that: the readiness poll's back-off (20 ms, growing ×1.6) and the `incus list` each poll runs. A plain `incus exec` works after %s ms.", num(gd.med), num(cold.med-gd.med), num(rawExec.med))
		p("")
	}
	if coldRatio > 1.10 {
		p("**Why missed:** orbtest's readiness is: the machine runs, runs a command, *and the backend reports an IPv4 address*, so that `VM.Address()` and `PortReachable` work when StartVM/NewVM returns. The guest only gets its address from DHCP once systemd-networkd has started in its boot; on this image that is **%s ms** after `incus exec` first works (raw launch→IPv4 %s ms vs launch→exec %s ms). The plain sequence of the target does not wait for the network, so it is a weaker readiness. Against the same readiness orbtest is %s× the raw CLI. Closing the gap would mean handing machines over before they have an address (a change to the readiness contract in wait.go/start.go), or an image whose network comes up earlier in its boot.", num(rawIPOnly.med-rawExec.med), num(rawIPOnly.med), num(rawExec.med), num(cold.med/rawIPOnly.med))
		p("")
	}

	// 2.
	p("## 2. Warm lease")
	p("")
	p("`BenchmarkWarmLease`: a spec with an idle machine in the pool. *in-process*: NewVM in a process whose pool is open (acquire only; the release, which resets the machine, is timed apart). *cross-process*: a fresh child process of the test binary joins the run and times its first NewVM, which includes the process's pool init (backend probe, run state, reaper check). *steps* splits the same child path.")
	p("")
	p(statsHeader)
	p(warmIn.row("in-process NewVM (acquire)", "ms"))
	p(warmX.row("child process, first NewVM", "ms"))
	for _, u := range []string{"driver-ms", "poolinit-ms", "acquire-ms"} {
		s := d.get("BenchmarkWarmLease/cross-process-steps", u)
		p(s.row("child, step: "+strings.TrimSuffix(u, "-ms"), "ms"))
	}
	p(d.get("BenchmarkWarmLease/cross-process", "child-wall-ms").row("child process wall time (exec, NewVM, test, reset, exit)", "ms"))
	p(warmInReset.row("reset at release (in-process)", "ms"))
	p(warmXReset.row("reset at release (child)", "ms"))
	p("")
	p("Targets: ≤ 5 ms in one process (%s), ≤ 50 ms across processes (%s). In the child, *driver* is selecting and probing the backend (`incus query /1.0`, by `Available`), *poolinit* is what its first NewVM costs beyond its second: poolFor (a second `incus query /1.0` for the backend's features, the run's state files, the reaper check), *acquire* is the second NewVM, a lease from the pool the process has open.", yesNo(warmIn.med <= 5), yesNo(warmX.med <= 50))
	p("")

	// 3.
	p("## 3. Suite")
	p("")
	p("`BenchmarkSuite`: a child `go test` process (`-parallel %d`, `ORBTEST_MAX_VMS=%d`) runs %d parallel tests, each running five commands (one writes a file, so a reused machine must be reset, and the first checks it was). Spec: `Debian(\"bookworm\")` with one setup step that byte-compiles the Python standard library at three optimisation levels and generates a 200,000-row JSON fixture with its checksum (CPU-bound, single-threaded, offline). *fresh*: each test calls StartVM (create + setup) and deletes its machine; *pool*: each test calls NewVM, starting from an empty pool (the run's template build and clones are included). Whole child process wall time; what the pool leaves is deleted untimed after the child exits, as the reaper does after `go test` returns.", bench.SuiteParallel, bench.SuiteParallel, bench.SuiteTests)
	p("")
	p(statsHeader)
	p(fresh.row("fresh (StartVM per test)", "s"))
	p(pooled.row("pool (NewVM)", "s"))
	fs := d.get("BenchmarkSuite", "fresh-setup-s")
	ps := d.get("BenchmarkSuite", "pool-setup-s")
	p(fs.row("setup step in the fresh suite (4 at once on the machine)", "s"))
	p(ps.row("setup step in the pool suite (template, alone)", "s"))
	p(d.get("BenchmarkSuite", "fresh-ready-s").row("fresh: StartVM until ready (create + setup)", "s"))
	p(d.get("BenchmarkSuite", "fresh-delete-ms").row("fresh: delete", "ms"))
	p(d.get("BenchmarkSuite", "pool-template-s").row("pool: template build (create + setup + stop)", "s"))
	p(d.get("BenchmarkSuite", "pool-clone-ready-ms").row("pool: new machine ready (incl. waiting for the template)", "ms"))
	pr3 := d.get("BenchmarkSuite", "pool-reset-ms")
	p(pr3.row("pool: reset at release (4 at a time)", "ms"))
	p(d.get("BenchmarkSuite", "pool-address-lag-ms").row("pool: NewVM return − guest got its IPv4 address (networkd's journal)", "ms"))
	p(d.get("BenchmarkSuite", "load1").row("1-min load average when the sample started (the previous sample's own load included)", ""))
	p("")
	var per []string
	fv, pv, lv := d["BenchmarkSuite"]["fresh-s"], d["BenchmarkSuite"]["pool-s"], d["BenchmarkSuite"]["load1"]
	for i := range min(len(fv), len(pv)) {
		l := "?"
		if i < len(lv) {
			l = num(lv[i])
		}
		per = append(per, fmt.Sprintf("%s s / %s s = %s× (load %s)", num(fv[i]), num(pv[i]), num(fv[i]/pv[i]), l))
	}
	p("Samples, fresh / pool: %s.", strings.Join(per, "; "))
	sr := statsOf(d.ratios("BenchmarkSuite", "fresh-s", "pool-s"))
	p("Ratio fresh ÷ pool: **%s×** (per-pair median %s×; target ≥ 5×: %s). The setup step costs %s s alone (the template's), %s s when four run at once on the %s-core machine.", num(suiteRatio), num(sr.med), yesNo(suiteRatio >= 5), num(ps.med), num(fs.med), meta["nproc"])
	p("")
	if suiteRatio < 5 {
		rounds := float64(bench.SuiteTests/bench.SuiteParallel - 1)
		tpl := d.get("BenchmarkSuite", "pool-template-s").med
		perSlot := float64(bench.SuiteTests / bench.SuiteParallel)
		// Linear model: scaling the setup by k adds (k-1) contended setups
		// per parallel slot and test to fresh, and (k-1) lone setups to the
		// pool (its template's).
		den := perSlot*fs.med - 5*ps.med
		k := 1 + (5*pooled.med-fresh.med)/den
		p("**Why missed:** the pool's wall time is the template build (%s s, which includes the one setup), the first clones, then %0.f more rounds of *test + reset* on %d machines, and the last round's resets, which no test uses but the package's last tests wait for in their cleanup. A reset is `incus snapshot restore` of the running container, which Incus does as a forced stop, restore and start, then the guest's boot until DHCP gives it an address; it is %s (restore to IPv4 %s ms). Alone a reset takes %s ms (§2); in the suite four run at once, because the tests release in step, and take %s ms each on this %s-core machine: stopping and booting containers is CPU work. Fresh machines instead pay %d setups, at most %d at once (%s s each when contended, %s s alone).",
			num(tpl), rounds, bench.SuiteParallel, cheapest, num(restoreV), num(warmInReset.med), num(pr3.med), meta["nproc"], bench.SuiteTests, bench.SuiteParallel, num(fs.med), num(ps.med))
		if den > 0 && k > 1 {
			p("A linear model from these medians (a k-times costlier setup adds (k−1) × %0.f contended setups per parallel slot to *fresh* and (k−1) lone setups to *pool*) puts 5× at a setup about **%s× this one** (≈ %s s alone). The pool's advantage is the setup it saves, so the ratio is a property of the spec, not only of orbtest.", perSlot, num(k), num(k*ps.med))
		}
		p("")
	}
	p("### Reset options (plain CLI)")
	p("")
	p("`BenchmarkResetOptions`: a running clone of a stopped template, with a snapshot, as the pool makes them; each way of bringing it back, cumulative from its first command until `incus exec true` works and until an IPv4 address shows.")
	p("")
	p("| option | commands | to exec (median, p25 – p75) | to IPv4 (median, p25 – p75) |\n|---|---|---|---|")
	ro := func(name, what string) {
		e := d.get("BenchmarkResetOptions/cycle", name+"-exec-ms")
		i := d.get("BenchmarkResetOptions/cycle", name+"-ipv4-ms")
		p("| %s | %s | %s ms (%s – %s) | %s ms (%s – %s) |", name, what, num(e.med), num(e.p25), num(e.p75), num(i.med), num(i.p25), num(i.p75))
	}
	ro("restore", "`incus snapshot restore` of the running machine (what the pool does)")
	ro("force", "`incus stop --force`, restore, `incus start`")
	ro("clean", "`incus stop` (clean shutdown), restore, `incus start`")
	ro("recopy", "`incus delete --force`, `incus copy TEMPLATE --instance-only`, `incus start`")
	p("")
	p("Parts (median): restore command on a running machine %s ms; force stop %s ms, restore of a stopped machine %s ms, start %s ms; clean stop %s ms; delete %s ms, copy %s ms, first start of a copy %s ms.",
		num(d.get("BenchmarkResetOptions/cycle", "restore-cmd-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "force-stop-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "force-restore-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "force-start-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "clean-stop-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "recopy-delete-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "recopy-copy-ms").med),
		num(d.get("BenchmarkResetOptions/cycle", "recopy-start-ms").med))
	p("")

	p("### Inspect cost")
	p("")
	p("`BenchmarkInspect`: every readiness poll (running? address?) and each reset call the driver's Inspect, `incus query /1.0/instances/NAME?project=P&recursion=1` in the client's current project (learnt once with `incus project get-current`; where the client cannot say, `incus list ^NAME$ --format json`, which fetches every instance of the project with its state and filters on the client); against a plain `incus query /1.0/instances/NAME?recursion=1`, as the number of instances grows (*ours* = instances this benchmark made; *instances* = all on the server).")
	p("")
	p("| instances (ours / all) | Inspect (median, p25 – p75) | single-instance query (median, p25 – p75) |\n|---|---|---|")
	for _, k := range []string{"1", "8", "16"} {
		n := "BenchmarkInspect/ours=" + k
		in, q, all := d.get(n, "inspect-ms"), d.get(n, "query-one-ms"), d.get(n, "instances")
		p("| %s / %.0f | %s ms (%s – %s) | %s ms (%s – %s) |", k, all.med, num(in.med), num(in.p25), num(in.p75), num(q.med), num(q.p25), num(q.p75))
	}
	p("")

	if _, ok := d["BenchmarkSuitePackages"]; ok {
		packagesSuite(p, d)
	}

	// 4.
	p("## 4. Run overhead")
	p("")
	p("`BenchmarkRun`: on one running machine, `vm.Run(ctx, ...)` against `incus exec NAME -- ...` run from Go with its output read, alternating which goes first, and the exact argv vm.Run passes to incus (recorded by pointing a driver at a script that prints it) run the same way, to the client's exit; each sample is the mean of one output line's iterations. vm.Run returns once the guard's end record has come on both streams (the exit status and the whole output are in); releasing the guard and the client's exit, which a raw `incus exec` waits for, follow in the background (`ExecRequest.Tails`), so vm.Run can take less than the raw exec it is compared with.")
	p("")
	p(statsHeader)
	p(runTrue[0].row("vm.Run(\"true\")", "ms"))
	p(runTrue[1].row("incus exec NAME -- true", "ms"))
	p(d.get("BenchmarkRun/true", "raw-orbtest-argv-ms").row("incus run with the exact argv vm.Run passes (exec guard included)", "ms"))
	p(run1M[0].row("vm.Run(\"head\", \"-c\", \"1048576\", \"/dev/zero\")", "ms"))
	p(run1M[1].row("incus exec NAME -- head -c 1048576 /dev/zero", "ms"))
	p(d.get("BenchmarkRun/1MiB", "raw-orbtest-argv-ms").row("incus run with the exact argv vm.Run passes (exec guard included)", "ms"))
	fr := d.get("BenchmarkWarmLease/cross-process", "first-run-ms")
	sr2 := d.get("BenchmarkWarmLease/cross-process", "second-run-ms")
	p(fr.row("vm.Run(\"true\"), first in a process on a machine it did not create or reset", "ms"))
	p(sr2.row("vm.Run(\"true\"), second", "ms"))
	p("")
	rt := statsOf(d.ratios("BenchmarkRun/true", "orbtest-ms", "raw-ms"))
	r1 := statsOf(d.ratios("BenchmarkRun/1MiB", "orbtest-ms", "raw-ms"))
	ga := [2]stats{d.get("BenchmarkRun/true", "raw-orbtest-argv-ms"), d.get("BenchmarkRun/1MiB", "raw-orbtest-argv-ms")}
	if ga[0].n > 0 && (ovTrue > runTarget || ov1M > runTarget) {
		p("**Why missed:** run from Go the same way to the client's exit, the exact argv vm.Run hands to incus costs %s ms (`true`) and %s ms (1 MiB), so orbtest's own code, returning before that exit, differs by %+.1f ms and %+.1f ms. The rest, %s ms and %s ms, is the command guard of `internal/cli/guard.go` that every command runs under: a /bin/sh in the machine that starts the command in its own session, writes an end record with the exit status on each stream, and waits for the host to acknowledge both, so that no output is lost (lxc/lxc#4282) and a cancel ends the command's process group in the machine.",
			num(ga[0].med), num(ga[1].med), runTrue[0].med-ga[0].med, run1M[0].med-ga[1].med, num(ga[0].med-runTrue[1].med), num(ga[1].med-run1M[1].med))
		p("")
	}
	p("Ratio: `true` %s× (per-pair median %s×), 1 MiB %s× (per-pair median %s×); target ≤ 1.10×. vm.Run makes one `incus exec` call: the default user's account is known without a call (root, or cached after the first `getent` per machine and user), and the argv adds `-T --user --group --cwd --env` flags that incus handles itself. The one extra call is the first command a process runs on a machine it did not create or reset (a lease from another process's pool): the driver does not know the machine's default user yet and asks with `incus list` (%s ms vs %s ms for the second command, medians from the cross-process lease above).", num(1+ovTrue), num(rt.med), num(1+ov1M), num(r1.med), num(fr.med), num(sr2.med))
	p("")

	// 5.
	p("## 5. Readiness lag")
	p("")
	p("`BenchmarkReadinessLag`: a goroutine polls raw `incus exec NAME -- true` back to back from the start and records its first success (the moment the machine can run a command), then polls `incus list` until an IPv4 address shows. *StartVM*: StartVM's path (create, readiness) with the machine's name known in advance. *reset*: a pool machine's release (restore, readiness), the poller waiting for a command to succeed in the restored machine. Lag = return − first success.")
	p("")
	p(statsHeader)
	for _, sub := range []string{"StartVM", "reset"} {
		n := "BenchmarkReadinessLag/" + sub
		p(d.get(n, "lag-ms").row(sub+": lag (return − command first possible)", "ms"))
		p(d.get(n, "lag-after-ipv4-ms").row(sub+": return − IPv4 first seen by the poller", "ms"))
		p(d.get(n, "exec-ms").row(sub+": start → command first possible", "ms"))
		p(d.get(n, "ipv4-ms").row(sub+": start → IPv4 first seen", "ms"))
		p(d.get(n, "ready-ms").row(sub+": start → return", "ms"))
	}
	p("")
	p("The poller's back-to-back `incus exec` slows the boot it watches: StartVM took %s ms here against %s ms without it (§1).", num(d.get("BenchmarkReadinessLag/StartVM", "ready-ms").med), num(cold.med))
	p("")
	if lag.med > 100 || lagReset.med > 100 {
		la := d.get("BenchmarkReadinessLag/StartVM", "lag-after-ipv4-ms")
		lr := d.get("BenchmarkReadinessLag/reset", "lag-after-ipv4-ms")
		p("**Why missed:** the lag is the guest's DHCP: orbtest returns once the machine also has an IPv4 address, which shows %s ms (StartVM) / %s ms (reset) after the first command could run. Measured from the address instead, orbtest returns %s ms (StartVM) / %s ms (reset) after the poller first saw it; that remainder is the readiness poll's back-off (20 ms growing ×1.6) and one `incus list` per attempt.",
			num(d.get("BenchmarkReadinessLag/StartVM", "ipv4-ms").med-d.get("BenchmarkReadinessLag/StartVM", "exec-ms").med),
			num(d.get("BenchmarkReadinessLag/reset", "ipv4-ms").med-d.get("BenchmarkReadinessLag/reset", "exec-ms").med),
			num(la.med), num(lr.med))
		p("")
	}
	cacheSection(p, d, "6. Template cache across runs")
	goExecSection(d, p)
	p("## Findings for the maintainers")
	p("")
	p("Measured causes of the remaining costs, for whoever works on them next (wait.go, exec.go, Inspect, the image):")
	p("")
	i1, i16 := d.get("BenchmarkInspect/ours=1", "inspect-ms"), d.get("BenchmarkInspect/ours=16", "inspect-ms")
	q16 := d.get("BenchmarkInspect/ours=16", "query-one-ms")
	p("- **Inspect asks for one instance.** The driver's Inspect costs %s ms with one instance and %s ms with 16 (a plain single-instance `incus query`: %s ms); every readiness poll and every reset runs several. Where the client cannot name its current project it falls back to `incus list ^NAME$`, whose cost grows with the host's instances.", num(i1.med), num(i16.med), num(q16.med))
	p("- **Readiness back-off.** After the guest's DHCP, StartVM still takes %s ms to return (cold start, §1) and a reset %s ms (§5): the poll interval grows ×1.6 from 20 ms, each poll an Inspect; the address check polls at least every 100 ms (wait.go).", num(cold.med-gd0.med), num(lagIP[1].med))
	steps := [2]stats{d.get("BenchmarkWarmLease/cross-process-steps", "driver-ms"), d.get("BenchmarkWarmLease/cross-process-steps", "poolinit-ms")}
	p("- **A process's first lease.** A child process's first NewVM spends %s ms selecting and probing the backend (one probe per process, whose Info the pool reuses) and %s ms in poolFor.", num(steps[0].med), num(steps[1].med))
	p("- **The command guard costs %s ms per command** run to the client's exit (§4: %s× on `true`): the guard's shell and setsid in the machine, and the release after the end records. vm.Run, and each readiness check that runs a command, returns before the release.", num(ga0[0].med-runTrue[1].med), num(ga0[0].med/runTrue[1].med))
	p("- **The last round's resets.** Each package process's last tests reset their pool machines in their cleanup (%s ms each with four at once) although no later test of that process uses them; without a process-exit hook this cannot be skipped safely, since another package process may lease them.", num(d.get("BenchmarkSuite", "pool-reset-ms").med))
	p("- **Guest boot to DHCP** is what the cold start, the readiness lag and every reset wait for: %s ms after StartVM starts against %s ms for a plain exec. An image whose network unit starts earlier (it waits for udev; see `systemd-analyze critical-chain systemd-networkd.service` in a machine) would shorten all three.", num(gd0.med), num(rawExec.med))
	p("")
	p("## Reproduce")
	p("")
	p("```sh\n%s\n```", meta["command"])
	p("")
	p("It needs Incus set up by `scripts/setup-incus.sh` (or OrbStack; the raw CLI comparisons then skip). Each benchmark skips with its reason when no backend is available, and deletes every machine it creates.")
	return w.String()
}
