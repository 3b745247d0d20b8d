#!/usr/bin/env bash
# Runs every test: unit tests, the fake-orbctl suite, and the real-machine
# suites (integration, examples, crash safety) on the backend this machine
# has. On Linux it first sets up Incus (scripts/setup-incus.sh). Real-machine
# tests fail instead of skipping (ORBTEST_REQUIRE=1), and afterwards no
# machine of orbtest's may be left.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" = Linux ]; then
	bash scripts/setup-incus.sh
	# A second run must find everything done, and not wait on the first.
	timeout 120 bash scripts/setup-incus.sh --no-verify
fi
export ORBTEST_REQUIRE=1
# Room for every spec the suites use at once: integration's TestPoolReuse
# checks that a test gets the machine the previous one left, which an
# eviction by another package's test at the cap would change. The cap
# itself is tested with explicit values.
export ORBTEST_MAX_VMS=${ORBTEST_MAX_VMS:-12}

echo "test: gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	printf 'test: gofmt would change:\n%s\n' "$unformatted" >&2
	exit 1
fi
go vet ./...

# Machines of earlier runs that died with their reaper (a killed machine,
# say) go first; whatever is still there belongs to someone else and is
# left out of the leak check.
go run ./cmd/orbtest gc
before=$(mktemp)
trap 'rm -f "$before"' EXIT
bash scripts/check-leaks.sh -list >"$before"

echo "test: go test -race ./..."
go test -race -count=1 -timeout 30m ./...

# Linux-only tests through go test -exec, as a user on any host runs them:
# each package binary in a pool machine of the go command's run. They skip
# outside a machine, so all five must have passed.
echo 'test: GOOS=linux go test -exec "orbtest exec" ./examples/goexec'
bindir=$(mktemp -d)
trap 'rm -f "$before"; rm -rf "$bindir"' EXIT
go build -o "$bindir/orbtest" ./cmd/orbtest
out=$(GOOS=linux go test -count=1 -v -exec "$bindir/orbtest exec" ./examples/goexec) || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
passed=$(printf '%s\n' "$out" | grep -c -- '^--- PASS: Test' || true)
if [ "$passed" -ne 5 ]; then
	echo "test: $passed of the 5 Linux-only tests of examples/goexec passed under orbtest exec" >&2
	exit 1
fi

ORBTEST_LEAKS_IGNORE=$before bash scripts/check-leaks.sh
# How long each run's reaper took, for the record.
reaped=${ORBTEST_STATE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orbtest}/reaped.log
sleep 1
if [ -f "$reaped" ]; then
	echo "test: latest runs ended by their reapers ($reaped):"
	tail -n 3 "$reaped"
fi
