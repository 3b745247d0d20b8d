package main

import "github.com/orbtest/go-orbtest/internal/bench"

// packagesSuite writes the suite whose setup installs packages.
func packagesSuite(p func(string, ...any), d benchData) {
	const b = "BenchmarkSuitePackages"
	p("### 3b. Suite with packages")
	p("")
	p("`%s`: the same %d tests, `-parallel %d`, with the setup step users write: `apt-get update && apt-get install -y --no-install-recommends nginx jq sqlite3` (on Incus through the host's package proxy, whose cache serves the second download of a package). Each test checks that the three programs run.", b, bench.SuiteTests, bench.SuiteParallel)
	p("")
	p(statsHeader)
	fresh, pooled := d.get(b, "fresh-s"), d.get(b, "pool-s")
	p(fresh.row("fresh (StartVM per test)", "s"))
	p(pooled.row("pool (NewVM)", "s"))
	p(d.get(b, "fresh-setup-s").row("setup step in the fresh suite (4 at once on the machine)", "s"))
	p(d.get(b, "pool-setup-s").row("setup step in the pool suite (template, alone)", "s"))
	p(d.get(b, "pool-reset-ms").row("pool: reset at release (4 at a time)", "ms"))
	p("")
	p("Ratio fresh ÷ pool: **%s×** (per-pair median %s×).", num(fresh.med/pooled.med), num(statsOf(d.ratios(b, "fresh-s", "pool-s")).med))
	p("")
}
