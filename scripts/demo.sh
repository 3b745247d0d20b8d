#!/usr/bin/env bash
# Sets up the backend (Incus on Linux) and runs the example suites in
# examples/ on real machines, with their logs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" = Linux ]; then
	bash scripts/setup-incus.sh
fi
# -parallel 4: as many tests at once as the pool's default ORBTEST_MAX_VMS.
ORBTEST_REQUIRE=1 go test -count=1 -v -parallel 4 ./examples/...
