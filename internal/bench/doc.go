// Package bench holds orbtest's benchmarks: the library through its public
// API, side by side with the plain incus CLI sequence a careful user would
// write. They are in its _test.go files; scripts/bench.sh builds them with
// `go test -c`, runs each with enough repetitions to quote a median and a
// spread, and writes docs/BENCHMARKS.md from their output with the program
// in report/.
//
// This file holds what the benchmarks and the report share: the shape of
// the suite benchmark.
package bench

// The suite benchmark's shape: SuiteTests parallel tests on at most
// SuiteParallel machines (-parallel and ORBTEST_MAX_VMS of its child).
const (
	SuiteTests    = 24
	SuiteParallel = 4
)
