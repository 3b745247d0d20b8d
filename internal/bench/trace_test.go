package bench

// With ORBTEST_BENCH_TRACE=1 the suite benchmark's child logs every call of
// the backend's CLI that the library makes, with its start (seconds since
// the process started, as the child's stamped lifecycle lines), its
// duration and exit status, for reading where a suite's time goes; the
// benchmark then logs the child's output. The calls go through a wrapper
// script, which costs a shell per call: traced timings are for reading,
// not for quoting.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbtest/go-orbtest/internal/backends"
	"github.com/orbtest/go-orbtest/internal/env"
	"github.com/orbtest/go-orbtest/internal/incus"
	"github.com/orbtest/go-orbtest/internal/orbctl"
)

// traceEnv turns the trace on.
const traceEnv = "ORBTEST_BENCH_TRACE"

// traceCLI points the library at a wrapper of the backend's CLI that logs
// each call, and prints the calls when t ends. The wrapper's directory is
// left in place: the run's reaper, which outlives this process, runs the
// wrapper too.
func traceCLI(t *testing.T) {
	d, err := backends.Select(t.Context(), env.Choice())
	if err != nil {
		t.Skipf("skipping: no backend to trace: %v", err)
	}
	var name, real string
	switch d.Name() {
	case "incus":
		name = env.Incus
		real, err = incus.Find()
	case "orbstack":
		name = env.Orbctl
		real, err = orbctl.Find()
	default:
		t.Fatalf("no CLI to trace for backend %s", d.Name())
	}
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "orbtest-bench-trace-")
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls.log")
	wrapper := filepath.Join(dir, filepath.Base(real))
	script := "#!/bin/sh\nt0=$(date +%s.%N)\n" + shellQuote(real) + " \"$@\"\ns=$?\n" +
		"printf '%s %s %s %.200s\\n' \"$t0\" \"$(date +%s.%N)\" \"$s\" \"$(printf '%s ' \"$@\" | tr '\\n' ' ')\" >>" + shellQuote(calls) + "\nexit $s\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(name, wrapper)
	t.Logf("trace: %s calls go through %s, logged to %s", filepath.Base(real), wrapper, calls)
	t.Cleanup(func() { printCalls(calls) })
}

// printCalls prints the wrapper's log, a line per call, stamped like
// benchStamped's lines.
func printCalls(path string) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Printf("trace: %v\n", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		start, rest, _ := strings.Cut(line, " ")
		end, rest, _ := strings.Cut(rest, " ")
		status, args, _ := strings.Cut(rest, " ")
		t0, err0 := strconv.ParseFloat(start, 64)
		t1, err1 := strconv.ParseFloat(end, 64)
		if err0 != nil || err1 != nil { // a date without %N
			fmt.Printf("trace %s\n", line)
			continue
		}
		at := time.Unix(0, int64(t0*1e9)).Sub(benchStart)
		took := time.Duration((t1 - t0) * 1e9).Round(time.Millisecond)
		fmt.Printf("[%7.3fs] trace %s exit=%s %s\n", at.Seconds(), took, status, strings.TrimSpace(args))
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
