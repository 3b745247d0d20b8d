package main

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// coldLines is BenchmarkColdStart's output for three samples, as
// `go test -bench` prints it with GOMAXPROCS 2, among the lines that are
// not results.
const coldLines = `goos: linux
goarch: amd64
pkg: github.com/orbtest/go-orbtest/internal/bench
BenchmarkColdStart-2   	       1	1200000000 ns/op	      1200 orbtest-ms	      1000 raw-exec-ms	      2000 raw-ipv4-ms	      1900 raw-ipv4only-ms	      1100 orbtest-guest-dhcp-ms
    harness_test.go:42: a log line that is not a result
BenchmarkColdStart-2   	       1	1300000000 ns/op	      1300 orbtest-ms	      1000 raw-exec-ms	      2100 raw-ipv4-ms	      2000 raw-ipv4only-ms	      1150 orbtest-guest-dhcp-ms
BenchmarkColdStart-2   	       1	1100000000 ns/op	      1100 orbtest-ms	      1000 raw-exec-ms	      1900 raw-ipv4-ms	      1800 raw-ipv4only-ms	      1000 orbtest-guest-dhcp-ms
PASS
ok  	github.com/orbtest/go-orbtest/internal/bench	12.3s
`

func TestParseBenchOutput(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		bench     string
		unit      string
		want      []float64
	}{
		{"every line of a benchmark, GOMAXPROCS suffix dropped", coldLines, "BenchmarkColdStart", "orbtest-ms", []float64{1200, 1300, 1100}},
		{"ns/op is a unit like the others", coldLines, "BenchmarkColdStart", "ns/op", []float64{1.2e9, 1.3e9, 1.1e9}},
		{"sub-benchmark names keep their slash and = parts",
			"BenchmarkInspect/ours=16-2 \t 10 \t 80000000 ns/op \t 80.5 inspect-ms \t 20 instances\n",
			"BenchmarkInspect/ours=16", "inspect-ms", []float64{80.5}},
		{"a name without the suffix (GOMAXPROCS 1)", "BenchmarkRun/true 20 35000000 ns/op 35 orbtest-ms\n", "BenchmarkRun/true", "orbtest-ms", []float64{35}},
		{"a line without an iteration count is not a result", "BenchmarkRun/true --- SKIP: no backend\n", "BenchmarkRun/true", "orbtest-ms", nil},
		{"an unparsable value is skipped, the rest of the line kept", "BenchmarkX 1 5 ns/op oops a-ms 7 b-ms\n", "BenchmarkX", "b-ms", []float64{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseBenchOutput(tc.out)[tc.bench][tc.unit]
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s %s = %v, want %v", tc.bench, tc.unit, got, tc.want)
			}
		})
	}
}

func TestStatsOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want stats
	}{
		{"one sample", []float64{3}, stats{n: 1, min: 3, p25: 3, med: 3, p75: 3, max: 3}},
		{"odd count, unsorted", []float64{5, 1, 3}, stats{n: 3, min: 1, p25: 2, med: 3, p75: 4, max: 5}},
		{"even count interpolates", []float64{4, 1, 3, 2}, stats{n: 4, min: 1, p25: 1.75, med: 2.5, p75: 3.25, max: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statsOf(tc.in); got != tc.want {
				t.Errorf("statsOf(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
	if s := statsOf(nil); s.n != 0 || !math.IsNaN(s.med) || num(s.med) != "n/a" {
		t.Errorf("statsOf(nil) = %+v, want n 0 and n/a figures", s)
	}
}

// TestRender checks the report's figures and verdicts for small outputs:
// each case's want lines must appear in the Markdown, its absent lines
// must not.
func TestRender(t *testing.T) {
	meta := parseMeta("date=2026-01-02 03:04 UTC\ncommand=BENCH_QUICK=1 bash scripts/bench.sh\nnproc=2\nload-before=0.12 0.30 0.40 (waited 0s for < 0.7)\n")
	for _, tc := range []struct {
		name   string
		out    string
		meta   map[string]string
		want   []string
		absent []string
	}{
		{
			name: "header and the run's facts",
			meta: meta,
			want: []string{
				"# Benchmarks\n",
				"from one run of the benchmarks in `internal/bench`; do not edit by hand",
				"| date | 2026-01-02 03:04 UTC |",
				"| load-before | 0.12 0.30 0.40 (waited 0s for < 0.7) |",
				"```sh\nBENCH_QUICK=1 bash scripts/bench.sh\n```",
			},
			absent: []string{"| cpu |"},
		},
		{
			name: "the packages suite, when it ran",
			out: "BenchmarkSuitePackages \t1\t20000000000 ns/op\t60 fresh-s\t20 pool-s\t9 pool-setup-s\t25 fresh-setup-s\t400 pool-reset-ms\n" +
				"BenchmarkSuitePackages \t1\t20000000000 ns/op\t66 fresh-s\t22 pool-s\t9 pool-setup-s\t25 fresh-setup-s\t400 pool-reset-ms\n",
			want: []string{
				"### 3b. Suite with packages",
				"apt-get install -y --no-install-recommends nginx jq sqlite3",
				"Ratio fresh ÷ pool: **3.00×** (per-pair median 3.00×).",
			},
		},
		{
			name:   "no packages suite, no section",
			out:    coldLines,
			absent: []string{"### 3b."},
		},
		{
			name: "cold start: medians, their ratio, missed, and why",
			out:  coldLines,
			want: []string{
				"| 1200 ms ÷ 1000 ms = **1.20×** | ≤ 1.10× | **missed** |",
				"| orbtest StartVM | 1200 ms | 1150 – 1250 | 1100 – 1300 | 3 |",
				"| orbtest side: StartVM called → guest's DHCP address (its journal) | 1100 ms | 1050 – 1125 | 1000 – 1150 | 3 |",
				"Ratio orbtest ÷ raw-exec: **1.20×** (per-sample median 1.20×; target ≤ 1.10×: **missed**). Like for like, orbtest ÷ raw launch-to-IPv4: **0.63×**",
				"**Why missed:** orbtest's readiness is",
			},
		},
		{
			name: "cold start met: no reason given",
			out:  "BenchmarkColdStart-2 1 1 ns/op 1050 orbtest-ms 1000 raw-exec-ms 1900 raw-ipv4only-ms\n",
			want: []string{"| 1050 ms ÷ 1000 ms = **1.05×** | ≤ 1.10× | **met** |  |"},
			absent: []string{
				"**Why missed:** orbtest's readiness is",
			},
		},
		{
			name: "warm leases: the median of the lines, each target apart",
			out: "BenchmarkWarmLease/in-process-2 1 1 ns/op 1 lease-ms 900 reset-ms\n" +
				"BenchmarkWarmLease/in-process-2 1 1 ns/op 10 lease-ms 1100 reset-ms\n" +
				"BenchmarkWarmLease/in-process-2 1 1 ns/op 2 lease-ms 1000 reset-ms\n" +
				"BenchmarkWarmLease/cross-process-2 1 1 ns/op 75 lease-ms 2000 reset-ms\n" +
				"BenchmarkWarmLease/cross-process-steps-2 1 1 ns/op 75 lease-ms 40 driver-ms 30 poolinit-ms 5 acquire-ms\n",
			want: []string{
				"| 2a | warm lease, one process (acquire only) | **2.00 ms** | ≤ 5 ms | **met** | |",
				"| 2b | warm lease, fresh child process (first NewVM, with pool init) | **75.0 ms** | ≤ 50 ms | **missed** | see §2: probe and pool init |",
				"Reset time (at release, off the lease path): **1000 ms** median in one process, 2000 ms in the child processes.",
				"| child, step: poolinit | 30.0 ms | 30.0 – 30.0 | 30.0 – 30.0 | 1 |",
			},
		},
		{
			name: "suite: ratio of medians and per-pair samples",
			out: "BenchmarkSuite-2 1 1 ns/op 100 fresh-s 10 pool-s 0.5 load1\n" +
				"BenchmarkSuite-2 1 1 ns/op 120 fresh-s 20 pool-s 1.5 load1\n",
			meta: meta,
			want: []string{
				"| 3 | suite of 24 tests, fresh ÷ pool wall time | 110 s ÷ 15.0 s = **7.33×** | ≥ 5× | **met** |  |",
				"Samples, fresh / pool: 100 s / 10.0 s = 10.0× (load 0.50); 120 s / 20.0 s = 6.00× (load 1.50).",
				"(per-pair median 8.00×; target ≥ 5×: **met**)",
				"on the 2-core machine",
			},
			absent: []string{"**Why missed:** the pool's wall time"},
		},
		{
			name: "run overhead as a ratio against 1.10x",
			out: "BenchmarkRun/true-2 20 1 ns/op 42 orbtest-ms 40 raw-ms 41.5 raw-orbtest-argv-ms\n" +
				"BenchmarkRun/1MiB-2 20 1 ns/op 60 orbtest-ms 50 raw-ms 59 raw-orbtest-argv-ms\n",
			want: []string{
				"| 4a | vm.Run(\"true\") ÷ raw `incus exec NAME -- true` | 42.0 ms ÷ 40.0 ms = **1.05×** | ≤ 1.10× | **met** |",
				"| 4b | vm.Run of a 1 MiB output ÷ raw | 60.0 ms ÷ 50.0 ms = **1.20×** | ≤ 1.10× | **missed** |",
				"**Why missed:** run from Go the same way",
			},
		},
		{
			name: "orbtest exec overhead against its target",
			out:  "BenchmarkGoExec-2 1 340000000 ns/op 340 exec-ms 210 direct-ms 100 overhead-ms\n",
			want: []string{
				"| 7 | `orbtest exec` per package on a warm pool, over the binary pushed and run by hand | **100 ms** | ≤ 300 ms | **met** |",
				"| orbtest exec TESTBINARY (lease, copy of the package, run, hand back) | 340 ms |",
			},
		},
		{
			name: "orbtest exec overhead missed says what it cost",
			out:  "BenchmarkGoExec-2 1 940000000 ns/op 940 exec-ms 210 direct-ms 700 overhead-ms\n",
			want: []string{"| **700 ms** | ≤ 300 ms | **missed** | exec 940 ms against 210 ms by hand (§7) |"},
		},
		{
			name: "reset options: the cheapest is named when it is not restore",
			out: "BenchmarkResetOptions/cycle-2 1 1 ns/op 3000 restore-ipv4-ms 2500 force-ipv4-ms 4000 clean-ipv4-ms 2800 recopy-ipv4-ms " +
				"100 restore-exec-ms 200 force-exec-ms 300 clean-exec-ms 400 recopy-exec-ms\n" +
				"BenchmarkSuite-2 1 1 ns/op 20 fresh-s 10 pool-s\n",
			want: []string{
				"within 20 % of the cheapest way measured (§3, reset options: force, 2500 ms)",
				"| force | `incus stop --force`, restore, `incus start` | 200 ms (200 – 200) | 2500 ms (2500 – 2500) |",
			},
		},
		{
			name: "template cache: second run within 1.5 s is met, no reason",
			out: "BenchmarkCacheRuns/backend-2 1 1 ns/op 12000 first-to-body-ms 1200 second-to-body-ms 30 second-start-ms 40 second-probe-ms 1100 second-ready-ms 90 second-lookup-ms 800 second-dhcp-ms\n" +
				"BenchmarkCacheRuns/backend-2 1 1 ns/op 14000 first-to-body-ms 1400 second-to-body-ms 30 second-start-ms 40 second-probe-ms 1300 second-ready-ms 110 second-lookup-ms 1000 second-dhcp-ms\n",
			want: []string{
				"| 6 | second run's first machine ready (test process start → first test's body, template cache hit; spec with a 10 s setup step) | **1.30 s** (first run, a miss: 13.0 s) | ≤ 1.5 s on Incus/btrfs | **met** |  |",
				"## 6. Template cache across runs",
				"| second run (hit): process start → first test's body | 1300 ms | 1250 – 1350 | 1200 – 1400 | 2 |",
				"| second run (hit), part: NewVM → cache hit decided / entry built | 100 ms | 95.0 – 105 | 90.0 – 110 | 2 |",
			},
			absent: []string{"**Why missed:** exec to the test function", "on the fake orbctl"},
		},
		{
			name: "template cache: second run over 1.5 s is missed, with its parts",
			out:  "BenchmarkCacheRuns/backend-2 1 1 ns/op 12000 first-to-body-ms 2350 second-to-body-ms 30 second-start-ms 60 second-probe-ms 2250 second-ready-ms 400 second-lookup-ms 1500 second-dhcp-ms\n",
			want: []string{
				"| ≤ 1.5 s on Incus/btrfs | **missed** | second run: exec to the test function 30.0 ms, backend probe 60.0 ms, NewVM 2250 ms: its cache hit after 400 ms (pool init, content key, the entry's lock and checks), the guest's DHCP address at 1500 ms (clone, start, boot), and 750 ms more to return (readiness poll, new identity, snapshot) |",
				"**Why missed:** exec to the test function 30.0 ms",
			},
		},
		{
			name: "template cache: the fake orbctl's creates and clones per run",
			out: "BenchmarkCacheRuns/orbstack-fake-2 1 1 ns/op 1 first-creates 2 first-clones 0 second-creates 2 second-clones\n" +
				"BenchmarkCacheRuns/orbstack-fake-2 1 1 ns/op 1 first-creates 2 first-clones 0 second-creates 2 second-clones\n",
			want: []string{
				"The same two runs on the fake orbctl (`internal/fakeorbctl`), its calls counted (medians over 2 samples):",
				"| first | 1 | 2 |",
				"| second | 0 | 2 |",
			},
		},
		{
			name: "no output at all: every figure n/a, nothing met",
			want: []string{
				"| n/a ms ÷ n/a ms = **n/a×** | ≤ 1.10× | **missed** |",
				"| orbtest StartVM | n/a ms | n/a – n/a | n/a – n/a | 0 |",
				"| **n/a s** (first run, a miss: n/a s) | ≤ 1.5 s on Incus/btrfs | **missed** |  |",
			},
			absent: []string{"**met**"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(tc.out, tc.meta)
			for _, w := range tc.want {
				if !strings.Contains(doc, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(doc, a) {
					t.Errorf("report has %q", a)
				}
			}
			if t.Failed() {
				t.Logf("report:\n%s", doc)
			}
		})
	}
}

func TestParseMeta(t *testing.T) {
	got := parseMeta("date=2026-01-02\ncommand=BENCH_ONLY=Run bash scripts/bench.sh\nnot a pair\nlast=no newline")
	want := map[string]string{"date": "2026-01-02", "command": "BENCH_ONLY=Run bash scripts/bench.sh", "last": "no newline"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMeta = %v, want %v", got, want)
	}
}
