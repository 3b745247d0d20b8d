package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/runstate"
	"github.com/orbtest/go-orbtest/orbtest"
)

// BenchmarkGoExec times `orbtest exec` on one package's test binary (what
// go test -exec "orbtest exec" runs per package: lease a reset machine of
// the warm pool, copy the package directory and the binary in, run it,
// bring nothing back, hand the machine's reset to a releaser) against the same binary run by hand in
// a ready machine (push the binary and the package's testdata file, exec
// it). It takes BENCH_GOEXEC_N (20) pairs, in alternating order, after one
// untimed exec that builds the spec's template; before each exec it waits,
// untimed, for a reset machine to be free, as go test's build of the next
// package gives the releaser time to reset one. It reports the medians:
// exec-ms, direct-ms and overhead-ms (the median of the pairs'
// differences), and ns/op as exec's median. The exec children join this
// process's run (ORBTEST_RUN_ID and ORBTEST_RUN_OWNER), so they share its
// pool and its reaper.
func BenchmarkGoExec(b *testing.B) {
	newBenchEnv(b)
	ctx := benchCtx(b)
	dir := b.TempDir()
	// scripts/bench.sh runs the benchmarks from the module's root, go test
	// from this package's directory: the go command finds the module.
	cmdDir, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/orbtest/go-orbtest/cmd/orbtest").Output()
	if err != nil {
		b.Fatalf("go list cmd/orbtest: %v", err)
	}
	orbtestBin := filepath.Join(dir, "orbtest")
	if out, err := exec.Command("go", "build", "-o", orbtestBin, "github.com/orbtest/go-orbtest/cmd/orbtest").CombinedOutput(); err != nil {
		b.Fatalf("go build orbtest: %v\n%s", err, out)
	}
	pkg := filepath.Join(strings.TrimSpace(string(cmdDir)), "testdata", "execpkg") // the package whose binary runs
	testBin := filepath.Join(dir, "execpkg.test")
	build := exec.Command("go", "test", "-c", "-o", testBin, ".")
	build.Dir, build.Env = pkg, append(os.Environ(), "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go test -c: %v\n%s", err, out)
	}
	args := []string{"-test.paniconexit0", "-test.run=^(TestGreeting|TestReadsTestdata)$"}
	runExec := func() time.Duration {
		cmd := exec.CommandContext(ctx, orbtestBin, append([]string{"exec", testBin}, args...)...)
		cmd.Dir = pkg
		cmd.Env = append(os.Environ(), env.RunID+"="+orbtest.RunID(), env.RunOwner+"="+strconv.Itoa(os.Getpid()))
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(t0)
		if err != nil {
			b.Fatalf("orbtest exec: %v\n%s", err, out)
		}
		return took
	}
	vm, err := orbtest.StartVM(ctx, benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = vm.Delete(context.Background()) })
	if _, err := vm.Run(ctx, "mkdir", "-p", "/root/direct/testdata"); err != nil { // once, untimed
		b.Fatal(err)
	}
	runDirect := func() time.Duration {
		t0 := time.Now()
		if err := vm.Push(ctx, testBin, "/root/direct/execpkg.test"); err != nil {
			b.Fatal(err)
		}
		if err := vm.Push(ctx, filepath.Join(pkg, "testdata", "hello.txt"), "/root/direct/testdata/hello.txt"); err != nil {
			b.Fatal(err)
		}
		if _, err := vm.Exec(ctx, orbtest.Command("./execpkg.test", args...).InDir("/root/direct").AsUser("root")); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// idle waits, untimed, until the run has a reset machine free: what a
	// package finds on a warm pool when the one before it has been reset
	// while go test built it (the reset runs in a releaser of its own).
	run := runState(orbtest.RunID())
	idle := func() {
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			recs, _ := run.Records()
			for _, r := range recs {
				if r.Role == runstate.RolePool && r.State == runstate.StateIdle && !runstate.Held(run.LeasePath(r.Name)) {
					return
				}
			}
		}
		b.Fatal("no machine of the run became idle in 2m")
	}
	runExec() // the template, and the pool's machine
	n := 20
	if v, err := strconv.Atoi(os.Getenv("BENCH_GOEXEC_N")); err == nil && v > 0 {
		n = v
	}
	b.ResetTimer()
	for range b.N {
		var execs, directs, diffs []float64
		for i := range n {
			var e, d time.Duration
			if i%2 == 0 {
				idle()
				e, d = runExec(), runDirect()
			} else {
				d = runDirect()
				idle()
				e = runExec()
			}
			execs, directs, diffs = append(execs, ms(e)), append(directs, ms(d)), append(diffs, ms(e-d))
			b.Logf("pair %d: exec %.0f ms, direct %.0f ms", i+1, ms(e), ms(d))
		}
		b.ReportMetric(median(execs)*1e6, "ns/op")
		b.ReportMetric(median(execs), "exec-ms")
		b.ReportMetric(median(directs), "direct-ms")
		b.ReportMetric(median(diffs), "overhead-ms")
		b.Logf("median of %d: exec %.0f ms, direct %.0f ms, overhead %.0f ms", n, median(execs), median(directs), median(diffs))
	}
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
