package main

import "fmt"

// goExecTarget is the most orbtest exec may add to a package's test run
// on a warm pool, in milliseconds.
const goExecTarget = 300

// goExecRow is the summary's row for BenchmarkGoExec.
func goExecRow(d benchData) string {
	ov := d.get("BenchmarkGoExec", "overhead-ms")
	return fmt.Sprintf("| 7 | `orbtest exec` per package on a warm pool, over the binary pushed and run by hand | **%s ms** | ≤ %d ms | %s | %s |",
		num(ov.med), goExecTarget, yesNo(ov.med <= goExecTarget), whyGoExec(d, ov.med <= goExecTarget))
}

func whyGoExec(d benchData, ok bool) string {
	if ok {
		return ""
	}
	return fmt.Sprintf("exec %s ms against %s ms by hand (§7)", num(d.get("BenchmarkGoExec", "exec-ms").med), num(d.get("BenchmarkGoExec", "direct-ms").med))
}

// goExecSection is §7: orbtest exec's cost per package.
func goExecSection(d benchData, p func(string, ...any)) {
	p("## 7. Go tests in the machine")
	p("")
	p("`BenchmarkGoExec`: `orbtest exec` on one package's test binary (cmd/orbtest/testdata/execpkg, two tests, one reading testdata/), as `go test -exec` runs it, against the same binary and its testdata file pushed into a ready machine with `VM.Push` and run there with `VM.Exec`. 20 pairs in alternating order; before each `orbtest exec` the benchmark waits, untimed, until the run has a reset machine free, as a package finds the pool while go test builds it. Each line gives the medians of one set of 20 pairs; the overhead is the median of the pairs' differences.")
	p("")
	p(statsHeader)
	p(d.get("BenchmarkGoExec", "exec-ms").row("orbtest exec TESTBINARY (lease, copy of the package, run, hand back)", "ms"))
	p(d.get("BenchmarkGoExec", "direct-ms").row("by hand in a ready machine (push binary and testdata, exec)", "ms"))
	p(d.get("BenchmarkGoExec", "overhead-ms").row("overhead (median of the differences)", "ms"))
	p("")
}
