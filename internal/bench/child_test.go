package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/orbtest"
)

// childEnv selects what TestBenchChild does in a child process of a
// benchmark.
const childEnv = "ORBTEST_BENCH_CHILD"

// benchChild runs TestBenchChild in a child process of this test binary
// in mode, and returns its output.
func benchChild(b *testing.B, mode string, vars []string, args ...string) (string, error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	argv := append([]string{"-test.run=^TestBenchChild$", "-test.v", "-test.count=1", "-test.timeout=30m"}, args...)
	cmd := exec.CommandContext(ctx, os.Args[0], argv...)
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode, env.Require+"=1", env.Keep+"=never"), vars...)
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

// TestBenchChild is what a benchmark's child process runs: a test process
// like a user's, so its leases end with its tests. Anywhere else it
// skips.
func TestBenchChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	metric := func(name string, d time.Duration) { fmt.Printf("BENCHMETRIC %s %.3f\n", name, ms(d)) }
	switch mode {
	case "":
		t.Skipf("run only as a child process of the benchmarks in this package (%s unset)", childEnv)
	case "lease-lease":
		// The whole of NewVM, first call in this process.
		var t1 time.Time
		t.Cleanup(func() { metric("reset-ms", time.Since(t1)) }) // runs after NewVM's, which resets
		t0 := time.Now()
		vm := orbtest.NewVM(t, benchSpec)
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
		// NewVM's path in steps: selecting and probing the backend (what
		// Available does, and NewVM then finds done), the rest of the
		// first NewVM, and a second NewVM, once the first lease has
		// ended, from the pool this process has open. What the first
		// costs beyond the second is the pool's init.
		var first, second time.Duration
		t0 := time.Now()
		if err := orbtest.Available(t.Context()); err != nil {
			t.Fatal(err)
		}
		driver := time.Since(t0)
		t.Run("first", func(t *testing.T) {
			t0 := time.Now()
			orbtest.NewVM(t, benchSpec)
			first = time.Since(t0)
		})
		t.Run("second", func(t *testing.T) {
			t0 := time.Now()
			orbtest.NewVM(t, benchSpec)
			second = time.Since(t0)
		})
		if t.Failed() {
			return
		}
		metric("lease-ms", driver+first)
		metric("driver-ms", driver)
		metric("poolinit-ms", first-second)
		metric("acquire-ms", second)
	case "cache-run":
		cacheChild(t)
	case "suite-fresh", "suite-pool":
		if os.Getenv(traceEnv) == "1" {
			traceCLI(t)
		}
		for i := range SuiteTests {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				var vm *orbtest.VM
				logf := orbtest.WithLogf(benchStamped(t))
				if mode == "suite-pool" {
					vm = orbtest.NewVM(t, suiteSpec(), logf)
					leased := time.Now()
					t.Cleanup(func() { benchAddressLag(t, vm, leased) })
				} else {
					var err error
					vm, err = orbtest.StartVM(t.Context(), suiteSpec(), logf)
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
		t.Fatalf("unknown %s=%q", childEnv, mode)
	}
}

var benchStart = time.Now()

// guestAddressTime returns when the guest's systemd-networkd got its DHCP
// address, from its journal: a container shares the host's clock, so this
// is the moment the address existed, measured without polling for it.
func guestAddressTime(vm *orbtest.VM) (time.Time, bool) {
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

// benchAddressLag logs how long after the guest got its IPv4 address
// (systemd-networkd's journal, on the host's clock: a container shares the
// kernel's) NewVM handed the machine over.
func benchAddressLag(t *testing.T, vm *orbtest.VM, leased time.Time) {
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
func benchSuiteBody(t *testing.T, vm *orbtest.VM, i int) {
	vm.MustRun(t, "test", "!", "-e", "/root/used-by-a-test") // a reused machine was reset
	if os.Getenv(suiteEnv) == "packages" {
		vm.MustRun(t, "nginx", "-v")
		if out := vm.MustExec(t, orbtest.Command("jq", ".n").WithStdin(strings.NewReader(`{"n":42}`))).Stdout; out != "42\n" {
			t.Fatalf("jq .n = %q", out)
		}
		if out := vm.MustRun(t, "sqlite3", ":memory:", "select 6*7"); out != "42\n" {
			t.Fatalf("sqlite3 = %q", out)
		}
		vm.MustShell(t, fmt.Sprintf("echo test %d > /root/used-by-a-test", i))
		return
	}
	sum := vm.MustShell(t, "sha256sum /srv/fixture.json | cut -d' ' -f1")
	if want := vm.MustRun(t, "cat", "/srv/fixture.sha256"); sum != want {
		t.Fatalf("fixture checksum %q, want %q", sum, want)
	}
	vm.MustShell(t, fmt.Sprintf("echo test %d > /root/used-by-a-test", i))
	if out := vm.MustRun(t, "ls", "/opt/pycache/usr/lib/python3.11"); !strings.Contains(out, "json") {
		t.Fatalf("no compiled stdlib: %q", out)
	}
}

// The lifecycle lines of the library that the suite benchmark reads its
// parts from.
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
