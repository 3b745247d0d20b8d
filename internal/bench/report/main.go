// Command report writes docs/BENCHMARKS.md from one run of the benchmarks
// in internal/bench. scripts/bench.sh builds and runs it:
//
//	report -meta META -o docs/BENCHMARKS.md BENCH_OUTPUT
//
// BENCH_OUTPUT is the text of `go test -bench` (every -count line of every
// benchmark); META holds KEY=VALUE lines about the machine and the run
// (date, command, cpu, backend, load, ...). Without -o the report goes to
// standard output.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	metaPath := flag.String("meta", "", "`file` of KEY=VALUE lines about the machine and the run")
	outPath := flag.String("o", "", "write the report to `file` instead of standard output")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: report [-meta file] [-o file] BENCH_OUTPUT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *metaPath, *outPath); err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
		os.Exit(1)
	}
}

func run(benchPath, metaPath, outPath string) error {
	out, err := os.ReadFile(benchPath)
	if err != nil {
		return err
	}
	meta := map[string]string{}
	if metaPath != "" {
		b, err := os.ReadFile(metaPath)
		if err != nil {
			return err
		}
		meta = parseMeta(string(b))
	}
	doc := render(string(out), meta)
	if outPath == "" {
		_, err = os.Stdout.WriteString(doc)
		return err
	}
	return os.WriteFile(outPath, []byte(doc), 0o644)
}
