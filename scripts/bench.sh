#!/usr/bin/env bash
# bench.sh - run orbtest's benchmarks (internal/bench) on the backend present
# and write docs/BENCHMARKS.md: per target the median, spread, ratio and
# whether it is met, with the machine, backend version, load and date.
#
#   bash scripts/bench.sh            # wait for a quiet machine, run, write the doc
#   BENCH_QUICK=1 bash scripts/bench.sh   # few repetitions, for trying it out
#
# On a fresh machine run `sudo bash scripts/setup-incus.sh` first. Needs Go;
# no network, no benchstat: the medians come from internal/bench/report.
#
# Environment:
#   BENCH_MAX_LOAD (0.7)     start only when the 1-minute load average is below it
#   BENCH_LOAD_WAIT (1500)   give up waiting after this many seconds (and run anyway)
#   BENCH_OUT_DIR (mktemp)   where the raw benchmark output is kept
#   BENCH_DOC (docs/BENCHMARKS.md)
#   BENCH_N_COLD (15) BENCH_N_WARM (20) BENCH_N_RUN (15) BENCH_RUN_ITERS (20)
#   BENCH_N_LAG (12) BENCH_N_RESET (8) BENCH_N_SUITE (3)
#   BENCH_N_INSPECT (5) BENCH_INSPECT_ITERS (10) BENCH_N_CACHE (5)
#                            repetitions per benchmark
#   BENCH_GOEXEC_N (20)      orbtest exec against a binary run by hand, pairs per sample
#   BENCH_GROUP_LOAD (1.0) BENCH_GROUP_WAIT (300)  before each benchmark, wait up to
#                            that many seconds for the load to fall below that
#   BENCH_ONLY (all)         a regexp of benchmark names to run, e.g. 'ColdStart|Run'

set -Eeuo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

# The exact command, with every knob that differs from the defaults.
knobs=()
for v in BENCH_QUICK BENCH_MAX_LOAD BENCH_LOAD_WAIT BENCH_N_COLD BENCH_N_WARM BENCH_N_RUN BENCH_RUN_ITERS \
	BENCH_N_LAG BENCH_N_RESET BENCH_N_SUITE BENCH_N_INSPECT BENCH_INSPECT_ITERS BENCH_N_CACHE BENCH_GROUP_LOAD BENCH_GROUP_WAIT \
	BENCH_ONLY BENCH_GOEXEC_N ORBTEST_BACKEND ORBTEST_INCUS; do
	if [[ -n ${!v:-} ]]; then knobs+=("$v=${!v}"); fi
done
COMMAND="${knobs[*]:+${knobs[*]} }bash scripts/bench.sh"

if [[ -n ${BENCH_QUICK:-} ]]; then
	: "${BENCH_N_COLD:=3}" "${BENCH_N_WARM:=3}" "${BENCH_N_RUN:=3}" "${BENCH_RUN_ITERS:=5}"
	: "${BENCH_N_LAG:=2}" "${BENCH_N_RESET:=2}" "${BENCH_N_SUITE:=1}" "${BENCH_MAX_LOAD:=1000}"
	: "${BENCH_N_INSPECT:=2}" "${BENCH_INSPECT_ITERS:=3}" "${BENCH_N_CACHE:=2}" "${BENCH_GROUP_LOAD:=1000}"
fi
MAX_LOAD=${BENCH_MAX_LOAD:-0.7}
LOAD_WAIT=${BENCH_LOAD_WAIT:-1500}
N_COLD=${BENCH_N_COLD:-15}
N_WARM=${BENCH_N_WARM:-20}
N_RUN=${BENCH_N_RUN:-15}
RUN_ITERS=${BENCH_RUN_ITERS:-20}
N_LAG=${BENCH_N_LAG:-12}
N_RESET=${BENCH_N_RESET:-8}
N_SUITE=${BENCH_N_SUITE:-3}
N_INSPECT=${BENCH_N_INSPECT:-5}
INSPECT_ITERS=${BENCH_INSPECT_ITERS:-10}
N_CACHE=${BENCH_N_CACHE:-5}
ONLY=${BENCH_ONLY:-}
DOC=${BENCH_DOC:-$ROOT/docs/BENCHMARKS.md}
OUT_DIR=${BENCH_OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/orbtest-bench.XXXXXX")}
mkdir -p "$OUT_DIR" "$(dirname "$DOC")"
OUT=$OUT_DIR/bench.out
META=$OUT_DIR/meta
: >"$OUT"

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }


# A state directory of its own, so no other run's sweep competes with the
# timed work, and a run ID prefix that names every machine made here.
export ORBTEST_STATE_DIR=$OUT_DIR/state
export ORBTEST_KEEP=never
BENCH_ID=b$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')

log "building the benchmarks and the report writer"
BIN=$OUT_DIR/bench.test
go test -c -o "$BIN" ./internal/bench
REPORT=$OUT_DIR/bench-report
go build -o "$REPORT" ./internal/bench/report

# Wait for a quiet machine.
waited=0
while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
	if ((waited >= LOAD_WAIT)); then
		log "load is still $(load1) after ${waited}s; running anyway"
		break
	fi
	log "load average $(load1) >= $MAX_LOAD; waiting (${waited}s of ${LOAD_WAIT}s)"
	sleep 30
	waited=$((waited + 30))
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "starting at load $LOAD_BEFORE; output in $OUT"

# Before each group, let the previous group's load (or anyone else's)
# settle a little, and note the load at each group's start and end.
GROUP_LOAD=${BENCH_GROUP_LOAD:-1.0}
GROUP_WAIT=${BENCH_GROUP_WAIT:-300}
LOADS=()
group=0
bench() { # bench REGEXP BENCHTIME COUNT
	group=$((group + 1))
	if [[ -n $ONLY ]] && ! grep -Eq "$ONLY" <<<"$1"; then
		return 0
	fi
	local w=0
	while awk -v l="$(load1)" -v m="$GROUP_LOAD" 'BEGIN { exit !(l >= m) }' && ((w < GROUP_WAIT)); do
		sleep 10
		w=$((w + 10))
	done
	local name=${1#^Benchmark} start
	name=${name%\$}
	start=$(load1)
	log "running $1 (-benchtime=$2 -count=$3) at load $start"
	ORBTEST_RUN_ID=${BENCH_ID}g$group "$BIN" -test.run='^$' -test.bench="$1" \
		-test.benchtime="$2" -test.count="$3" -test.timeout=90m 2>&1 | tee -a "$OUT"
	LOADS+=("$name $start→$(load1)")
}

# The suite first: it is the longest, and the most hurt by load from others.
bench '^BenchmarkSuite$' 1x "$N_SUITE"
bench '^BenchmarkSuitePackages$' 1x "$N_SUITE"
bench '^BenchmarkColdStart$' 1x "$N_COLD"
bench '^BenchmarkWarmLease$' 1x "$N_WARM"
bench '^BenchmarkRun$' "${RUN_ITERS}x" "$N_RUN"
bench '^BenchmarkReadinessLag$' 1x "$N_LAG"
bench '^BenchmarkResetOptions$' 1x "$N_RESET"
bench '^BenchmarkInspect$' "${INSPECT_ITERS}x" "$N_INSPECT"
bench '^BenchmarkCacheRuns$' 1x "$N_CACHE"
# One sample holds the medians of BENCH_GOEXEC_N (20) pairs (§7).
bench '^BenchmarkGoExec$' 1x 1

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Nothing of this run may be left: the reapers delete a run's machines
# once its process has exited; wait for them, then delete what remains.
left() { incus list -c n -f csv 2>/dev/null | grep "^orbtest-$BENCH_ID" || true; }
if command -v incus >/dev/null; then
	for _ in $(seq 60); do
		[[ -z $(left) ]] && break
		sleep 2
	done
	if [[ -n $(left) ]]; then
		log "deleting machines left behind: $(left | tr '\n' ' ')"
		left | xargs -r incus delete --force
	fi
fi
# The template cache entries the benchmarks kept belong to this run's
# state directory, which nothing will use again: delete them
# (orbcache-STORE-..., STORE from the state directory's path as in
# internal/naming).
if command -v incus >/dev/null; then
	store=$(printf %s "$ORBTEST_STATE_DIR" | sha256sum | cut -c1-6)
	incus list -c n -f csv 2>/dev/null | grep "^orbcache-$store-" | xargs -r incus delete --force
fi

# The machine and the backend.
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "command=$COMMAND"
	echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "nproc=$(nproc)"
	echo "memory=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel=$(uname -sr)"
	if command -v incus >/dev/null; then
		echo "backend=incus (system containers), image debian/bookworm"
		echo "incus=$(incus version 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')"
		echo "storage=$(incus storage list -f csv 2>/dev/null | cut -d, -f1,2 | tr ',\n' '  ' | sed 's/ *$//')"
	elif command -v orbctl >/dev/null; then
		echo "backend=orbstack $(orbctl version 2>/dev/null | head -1)"
	fi
	echo "go=$(go version | cut -d' ' -f3-)"
	echo "load-before=$LOAD_BEFORE (1, 5, 15 min; waited ${waited}s for < $MAX_LOAD)"
	echo "load-after=$LOAD_AFTER"
	echo "load-per-group=$(IFS=';'; echo "${LOADS[*]}" | sed 's/;/; /g') (1-min load at each group's start → end)"
} >"$META"

if ! grep -q '^Benchmark.*ns/op' "$OUT"; then
	log "no benchmark ran (no backend? see $OUT); $DOC left as it was"
	exit 1
fi
"$REPORT" -meta "$META" -o "$DOC" "$OUT"
log "wrote $DOC (raw output: $OUT)"
