#!/usr/bin/env bash
# Fails when machines of orbtest's are still there 90 seconds after the test
# runs ended. Each run's reaper deletes its machines once the run ends (the
# crash-safety tests hold one run to 30 seconds); this checks them all.
set -euo pipefail

# Template cache entries (orbcache-STORE-KEY) stay after a run, but only
# those of the state directory's own store: STORE is the first 6 hex digits
# of the SHA-256 of the state directory's path (naming.CacheStore). An entry
# of another store was kept by a run whose state directory is a test's
# temporary one: nothing will ever prune it, so it is a leak.
state=${ORBTEST_STATE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orbtest}
store=$(printf %s "$state" | sha256sum | cut -c1-6)

list() {
	if command -v orbctl >/dev/null 2>&1 && orbctl status >/dev/null 2>&1; then
		orbctl list -q | grep -E '^(orbtest-|orbcache-)' | grep -v "^orbcache-$store-" || true
	fi
	if command -v incus >/dev/null 2>&1 && incus query /1.0 >/dev/null 2>&1; then
		incus list --format csv -c n | grep -E '^(orbtest-|orbcache-)' | grep -v "^orbcache-$store-" || true
	fi
}

# -list prints the orbtest machines there now and exits.
if [ "${1:-}" = -list ]; then
	list
	exit 0
fi

# ORBTEST_LEAKS_IGNORE names a file of machines that were there before the
# runs began (from -list); they are reported, not counted.
ignore=${ORBTEST_LEAKS_IGNORE:-/dev/null}
if [ -s "$ignore" ]; then
	printf 'check-leaks: ignoring machines that were there before the runs:\n%s\n' "$(cat "$ignore")" >&2
fi

for _ in $(seq 1 180); do
	left=$(list | grep -vxF -f "$ignore" || true)
	if [ -z "$left" ]; then
		echo "check-leaks: no orbtest machine left"
		exit 0
	fi
	sleep 0.5
done
printf 'check-leaks: machines still there 90s after the tests ended:\n%s\n' "$left" >&2
for f in "$state"/runs/*/reaper.log; do
	[ -s "$f" ] && printf '== %s\n%s\n' "$f" "$(tail -n 40 "$f")" >&2
done
exit 1
