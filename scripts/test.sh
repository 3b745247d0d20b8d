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
fi
export ORBTEST_REQUIRE=1

echo "test: gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	printf 'test: gofmt would change:\n%s\n' "$unformatted" >&2
	exit 1
fi
go vet ./...

echo "test: go test -race ./..."
go test -race -count=1 -timeout 30m ./...

bash scripts/check-leaks.sh
