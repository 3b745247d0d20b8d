#!/usr/bin/env bash
# setup-incus.sh - make a Debian 12 (bookworm) machine ready to run orbtest on
# real Incus system containers.  One command, idempotent, fast on re-runs.
#
#   sudo scripts/setup-incus.sh              # set up (or confirm) everything, then verify
#   sudo scripts/setup-incus.sh --check      # only report status, change nothing
#   sudo scripts/setup-incus.sh --no-verify  # set up, skip the throwaway-container check
#   sudo scripts/setup-incus.sh --full-verify  # also check cloud-init user data runs
#                                            # (done anyway when the image is (re)imported)
#   sudo scripts/setup-incus.sh --rebuild-image  # rebuild the image even if cached
#
# What it sets up (names overridable through the environment, see below):
#   packages  incus-base + incus-client from <codename>-backports (a backports
#             source is added with the URI of the machine's own Debian source),
#             lxcfs, dnsmasq-base, nftables, debootstrap, btrfs-progs, zstd, ...
#             (apt is not touched when all are installed)
#   daemon    the incus service under systemd; without systemd as PID 1, lxcfs
#             and incusd are started in the background (log: /var/log/incusd.log)
#   storage   pool "orbtest": btrfs on a loop file (copy-on-write launches),
#             "dir" only when the kernel has no btrfs
#   network   managed bridge "orbtestbr0", IPv4 10.200.77.1/24, DHCP, no NAT,
#             no IPv6; the host reaches containers and containers reach each
#             other (also as NAME.incus); an nftables table "inet
#             orbtest_orbtestbr0" rejects anything routed off the bridge
#   profile   "default": root disk on the pool, eth0 on the bridge, so a plain
#             `incus launch debian/bookworm NAME` works
#   proxy     apt-cacher-ng (the distribution's caching package proxy) on the
#             bridge address only (10.200.77.1:3142), forwarding only to the
#             Debian mirrors this machine's own apt sources name for the
#             image's suites (http only), refusing every other host and every
#             CONNECT; its own config in /etc/orbtest-apt-cacher-ng, the
#             distribution's service left stopped. The bridge still routes
#             nothing out: the proxy is the machines' only way off the host
#   https     core.https_address 127.0.0.1:8443 (loopback only; left alone when
#             set), so the integration suite can add this daemon as a remote
#   image     "debian/bookworm": Debian bookworm built locally with debootstrap
#             (systemd init, systemd-networkd DHCP on eth0, python3, cloud-init
#             fed from the instance keys cloud-init.user-data / .vendor-data /
#             .network-config; apt sources for the same suites, apt's proxy
#             set to the package proxy, and package lists, so `apt-get
#             install -y curl` works in a fresh container); rootfs cached
#             under /var/cache/orbtest
#   verify    launches orbtest-setup-check-<pid> and orbtest-setup-check-<pid>-b,
#             waits for systemd in both, checks the first has an IPv4 and that
#             the host and the second fetch a page from a python http.server in
#             it; after an image import (or with --full-verify) the second is
#             launched with cloud-init.user-data and must have run it; deletes
#             both (always); prints timings
#
# Environment overrides:
#   ORBTEST_POOL (orbtest)  ORBTEST_POOL_SIZE (30GiB)  ORBTEST_BRIDGE (orbtestbr0)
#   ORBTEST_BRIDGE_ADDR (10.200.77.1/24)  ORBTEST_PROFILE (default; created if missing)
#   ORBTEST_IMAGE_ALIAS (debian/bookworm)
#   ORBTEST_CACHE_DIR (/var/cache/orbtest)  INCUSD_LOG (/var/log/incusd.log)
#   ORBTEST_WITH_CLOUD_INIT (1)  ORBTEST_HTTPS_ADDRESS (127.0.0.1:8443; none: skip)
#
# Never names a mirror: every download URI is read from the machine's apt
# sources at run time.  Not persistent across a reboot without systemd:
# re-run it (a few seconds) to start lxcfs/incusd and restore the nft table.

set -Eeuo pipefail

# ---------------------------------------------------------------- settings
POOL=${ORBTEST_POOL:-orbtest}
POOL_SIZE=${ORBTEST_POOL_SIZE:-30GiB}
BRIDGE=${ORBTEST_BRIDGE:-orbtestbr0}
BRIDGE_ADDR=${ORBTEST_BRIDGE_ADDR:-10.200.77.1/24}
PROFILE=${ORBTEST_PROFILE:-default}
CACHE_DIR=${ORBTEST_CACHE_DIR:-/var/cache/orbtest}
INCUSD_LOG=${INCUSD_LOG:-/var/log/incusd.log}
if [[ -d /run/systemd/system && "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]; then
	INCUSD_LOG=/var/log/incus/incus.log # where incus.service makes incusd log
fi
LXCFS_LOG=/var/log/lxcfs.log
INCUSD_PIDFILE=/run/orbtest-incusd.pid
LXCFS_PIDFILE=/run/orbtest-lxcfs.pid
WITH_CLOUD_INIT=${ORBTEST_WITH_CLOUD_INIT:-1}
APT_LOG=/var/log/orbtest-setup-apt.log
BUILD_LOG=/var/log/orbtest-setup-image.log
PROXY_PORT=3142
PROXY_CONF_DIR=/etc/orbtest-apt-cacher-ng
PROXY_LOG=/var/log/orbtest-apt-cacher-ng.log
PROXY_PIDFILE=/run/orbtest-apt-cacher-ng.pid
META_TARBALL=meta.tar.zst
ROOTFS_TARBALL=rootfs.tar.zst

CODENAME=
if [[ -r /etc/os-release ]]; then
	# shellcheck source=/dev/null
	CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
CODENAME=${CODENAME:-bookworm}
HOST_ID=$( (. /etc/os-release 2>/dev/null && echo "${ID:-debian}") || echo debian)
IMAGE_RELEASE=${ORBTEST_IMAGE_RELEASE:-bookworm}
IMAGE_ALIAS=${ORBTEST_IMAGE_ALIAS:-debian/$IMAGE_RELEASE}
DEB_ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
UNAME_ARCH=$(uname -m)

# Host packages.  incus-base is Incus without the VM stack (no qemu): this
# backend only runs containers.  The incus packages come from backports.
BACKPORTS_PKGS=(incus-base incus-client)
HOST_PKGS=(lxcfs dnsmasq-base nftables debootstrap btrfs-progs xz-utils zstd uidmap apt-cacher-ng)

# Packages of the container image (debootstrap --variant=minbase + these).
# udev: /sys is writable in an Incus container, so systemd-networkd waits for
# udev to initialise eth0 and never configures it when udev is missing.
IMAGE_PKGS=(systemd systemd-sysv udev systemd-resolved dbus iproute2 iputils-ping
	ca-certificates sudo python3 procps less)
if [[ $WITH_CLOUD_INIT == 1 ]]; then
	# debootstrap does not resolve virtual packages: python3-cryptography
	# needs python3-cffi-backend-api-max, provided by python3-cffi-backend.
	IMAGE_PKGS+=(cloud-init python3-cffi-backend)
fi

MODE=setup
VERIFY=1
VERIFY_CLOUD_INIT=0
REBUILD_IMAGE=0
CURRENT_STEP=start

# ---------------------------------------------------------------- output
say() { printf 'setup-incus: %s\n' "$*"; }
warn() { printf 'setup-incus: WARNING: %s\n' "$*" >&2; }
die() {
	printf 'setup-incus: FAILED: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

hint_for_step() {
	case $CURRENT_STEP in
	packages) echo "look at $APT_LOG and 'apt-cache policy ${BACKPORTS_PKGS[0]}'" ;;
	daemon) echo "look at $INCUSD_LOG (and $LXCFS_LOG); 'incus info' talks to the daemon" ;;
	storage | network | profile) echo "look at $INCUSD_LOG; 'incus storage list', 'incus network list', 'incus profile show $PROFILE'" ;;
	image) echo "look at $BUILD_LOG and $INCUSD_LOG; 'incus image list'" ;;
	proxy) echo "look at $PROXY_LOG and $PROXY_CONF_DIR/acng.conf" ;;
	verify) echo "look at $INCUSD_LOG; for the container: 'incus info --show-log NAME', 'incus console --show-log NAME'" ;;
	*) echo "look at $INCUSD_LOG" ;;
	esac
}

on_err() {
	local rc=$? line=$1 cmd=$2
	printf 'setup-incus: FAILED in step "%s" (line %s, exit %s): %s\n' \
		"$CURRENT_STEP" "$line" "$rc" "$cmd" >&2
	printf 'setup-incus: to investigate: %s\n' "$(hint_for_step)" >&2
	exit "$rc"
}
trap 'on_err $LINENO "$BASH_COMMAND"' ERR

usage() {
	sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
}

while (($#)); do
	case $1 in
	--check) MODE=check ;;
	--no-verify) VERIFY=0 ;;
	--full-verify) VERIFY_CLOUD_INIT=1 ;;
	--rebuild-image) REBUILD_IMAGE=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option '$1' (try --help)" ;;
	esac
	shift
done

# ---------------------------------------------------------------- apt sources
# Prints "URI<TAB>SIGNED_BY" for each enabled deb source of the machine that
# carries suite $1 with component main (deb822 .sources and one-line .list).
apt_sources_for_suite() {
	local suite=$1 f
	local -a sources=() lists=()
	shopt -s nullglob
	sources=(/etc/apt/sources.list.d/*.sources)
	lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
	shopt -u nullglob
	if ((${#sources[@]})); then
		awk -v want="$suite" '
			function flush(   n, i, t, s, c, u, okt, oks, okc) {
				if (types == "" ) { reset(); return }
				if (tolower(enabled) == "no") { reset(); return }
				n = split(types, t, /[ \t]+/); okt = 0
				for (i = 1; i <= n; i++) if (t[i] == "deb") okt = 1
				n = split(suites, s, /[ \t]+/); oks = 0
				for (i = 1; i <= n; i++) if (s[i] == want) oks = 1
				n = split(comps, c, /[ \t]+/); okc = 0
				for (i = 1; i <= n; i++) if (c[i] == "main") okc = 1
				if (okt && oks && okc) {
					n = split(uris, u, /[ \t]+/)
					for (i = 1; i <= n; i++) if (u[i] != "") print u[i] "\t" signed
				}
				reset()
			}
			function reset() { types = suites = comps = uris = signed = enabled = ""; field = "" }
			BEGIN { reset() }
			FNR == 1 { flush() }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ {   # continuation line
				v = $0; sub(/^[ \t]+/, "", v)
				if (field == "uris") uris = uris " " v
				else if (field == "suites") suites = suites " " v
				else if (field == "components") comps = comps " " v
				else if (field == "types") types = types " " v
				next
			}
			{
				k = $0; sub(/:.*/, "", k); k = tolower(k)
				v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
				field = k
				if (k == "types") types = v
				else if (k == "uris") uris = v
				else if (k == "suites") suites = v
				else if (k == "components") comps = v
				else if (k == "signed-by") signed = v
				else if (k == "enabled") enabled = v
			}
			END { flush() }
		' "${sources[@]}"
	fi
	for f in "${lists[@]}"; do
		[[ -r $f ]] || continue
		awk -v want="$suite" '
			/^[ \t]*deb[ \t]/ {
				line = $0; sub(/#.*/, "", line)
				signed = ""
				if (match(line, /\[[^]]*\]/)) {
					opts = substr(line, RSTART + 1, RLENGTH - 2)
					line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
					if (match(opts, /signed-by=[^ \t]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
				}
				n = split(line, w, /[ \t]+/)
				# w[1] may be empty when the line starts with blanks
				i = 1; if (w[i] == "") i++
				if (w[i] != "deb") next
				uri = w[i + 1]; s = w[i + 2]
				if (s != want) next
				for (j = i + 3; j <= n; j++) if (w[j] == "main") { print uri "\t" signed; next }
			}
		' "$f"
	done
}

# The machine's main Debian mirror URI (the source that carries $CODENAME).
MIRROR_URI=
MIRROR_SIGNED_BY=
find_mirror() {
	[[ -n $MIRROR_URI ]] && return 0
	local line
	line=$(apt_sources_for_suite "$CODENAME" | sed -n 1p)
	[[ -n $line ]] || die "no enabled apt source for suite '$CODENAME' with component main found in /etc/apt/sources.list{,.d/*}: cannot derive the Debian mirror"
	MIRROR_URI=${line%%$'\t'*}
	MIRROR_URI=${MIRROR_URI%/}
	MIRROR_SIGNED_BY=${line#*$'\t'}
}

BACKPORTS_SOURCE=/etc/apt/sources.list.d/orbtest-$CODENAME-backports.sources
# Makes sure an apt source for $CODENAME-backports exists; prints "changed"
# when it wrote one.
ensure_backports_source() {
	# (Output captured first: with pipefail, "cmd | grep -q" can fail when
	# grep exits before cmd is done writing.)
	if [[ ! -e $BACKPORTS_SOURCE && -n "$(apt_sources_for_suite "$CODENAME-backports")" ]]; then
		return 0 # the machine already has one of its own
	fi
	find_mirror
	local want
	want="# Written by orbtest scripts/setup-incus.sh: $CODENAME-backports from the
# same mirror as the machine's main Debian source.
Types: deb
URIs: $MIRROR_URI
Suites: $CODENAME-backports
Components: main"
	# Only a keyring path is copied (an inline key block is not): without
	# Signed-By apt falls back to the trusted keyrings.
	if [[ $MIRROR_SIGNED_BY == /* && -r $MIRROR_SIGNED_BY ]]; then
		want+=$'\n'"Signed-By: $MIRROR_SIGNED_BY"
	fi
	if [[ ! -e $BACKPORTS_SOURCE ]] || [[ "$(cat "$BACKPORTS_SOURCE")" != "$want" ]]; then
		printf '%s\n' "$want" >"$BACKPORTS_SOURCE"
		echo changed
	fi
}

# ---------------------------------------------------------------- helpers
pkg_installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing_packages() {
	local p
	for p in "${BACKPORTS_PKGS[@]}" "${HOST_PKGS[@]}"; do
		pkg_installed "$p" || printf '%s\n' "$p"
	done
}

have_systemd() {
	[[ -d /run/systemd/system ]] && [[ "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]
}

daemon_up() {
	[[ -S /var/lib/incus/unix.socket ]] && timeout 10 incus query /1.0 >/dev/null 2>&1
}

pid_alive() { # pidfile exe-basename
	local pid
	[[ -r $1 ]] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ -n $pid && -d /proc/$pid ]] || return 1
	[[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */"$2" ]]
}

lxcfs_mounted() {
	[[ -r /var/lib/lxcfs/proc/uptime ]] && mountpoint -q /var/lib/lxcfs
}

have_btrfs() {
	grep -qw btrfs /proc/filesystems && command -v mkfs.btrfs >/dev/null
}

incus_exists() { # kind name...
	incus "$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------- step 1: packages
step_packages() {
	CURRENT_STEP=packages
	local -a missing
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		say "packages: all installed (incus-base $(dpkg-query -W -f='${Version}' incus-base)), apt skipped"
		return 0
	fi
	# Debian 12 has Incus only in its backports suite; Debian 13 and Ubuntu
	# 24.04 have it in their main suites.
	local -a target=()
	if [[ $CODENAME == bookworm ]]; then
		find_mirror
		local changed
		changed=$(ensure_backports_source)
		if [[ -n $changed ]]; then
			say "apt: wrote $BACKPORTS_SOURCE ($CODENAME-backports at $MIRROR_URI, the URI of the machine's own Debian source)"
		fi
		target=(-t "$CODENAME-backports")
	fi
	say "apt: updating package lists (log: $APT_LOG)"
	local t0
	t0=$(now)
	if ! apt-get update >"$APT_LOG" 2>&1; then
		tail -n 20 "$APT_LOG" >&2
		die "apt-get update failed (full log: $APT_LOG)"
	fi
	local policy
	policy=$(apt-cache policy incus-base 2>/dev/null || true)
	if [[ -z $policy || $policy == *"Candidate: (none)"* ]] || { ((${#target[@]})) && [[ $policy != *"$CODENAME-backports"* ]]; }; then
		die "incus-base is not offered by this machine's apt sources after apt-get update (see 'apt-cache policy incus-base', $APT_LOG)"
	fi
	say "apt: installing ${missing[*]}"
	# Backports are pinned low (100); -t makes them win, for incus and also for
	# the few host packages backports carries too (debootstrap, btrfs-progs).
	# No service starts from a package's install script (the distribution's
	# apt-cacher-ng would listen on every address): the steps below start
	# what is needed themselves.
	local deny_starts=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# setup-incus.sh: no service starts during its install\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		deny_starts=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${target[@]}" "${missing[@]}" >>"$APT_LOG" 2>&1; then
		[[ -z $deny_starts ]] || rm -f /usr/sbin/policy-rc.d
		tail -n 20 "$APT_LOG" >&2
		die "apt-get install failed (full log: $APT_LOG)"
	fi
	[[ -z $deny_starts ]] || rm -f /usr/sbin/policy-rc.d
	say "apt: done in $(since "$t0") (incus-base $(dpkg-query -W -f='${Version}' incus-base))"
}

# ---------------------------------------------------------------- step 1b: kernel limits
# Every container's systemd takes inotify instances and keyrings from the
# host's per-user budget (containers share root's). Debian's defaults (128
# inotify instances) stop a host at about 16 containers: the next one's
# systemd exits at once ("Failed to allocate manager object: Too many open
# files") and the container stops. These are Incus' recommended production
# values; a limit already higher is left alone.
SYSCTL_CONF=/etc/sysctl.d/60-orbtest-incus.conf
HOST_LIMITS=(
	fs.inotify.max_user_instances=1048576
	fs.inotify.max_user_watches=1048576
	fs.inotify.max_queued_events=1048576
	kernel.keys.maxkeys=2000
	kernel.keys.maxbytes=2000000
)
step_limits() {
	CURRENT_STEP=limits
	local kv key want cur raised=() low=0
	for kv in "${HOST_LIMITS[@]}"; do
		key=${kv%%=*} want=${kv#*=}
		cur=$(sysctl -n "$key" 2>/dev/null || echo 0)
		if ((cur < want)); then
			if sysctl -qw "$key=$want" >/dev/null 2>&1; then
				raised+=("$key $cur->$want")
			else
				low=1
				warn "could not raise $key from $cur to $want: past about 16 containers, new ones may stop while booting; set it on the host: sysctl -w $key=$want"
			fi
		fi
	done
	if [[ ! -f $SYSCTL_CONF ]] && [[ -d ${SYSCTL_CONF%/*} ]]; then
		printf '# Written by orbtest scripts/setup-incus.sh: room for many containers.\n' >"$SYSCTL_CONF"
		printf '%s\n' "${HOST_LIMITS[@]/=/ = }" >>"$SYSCTL_CONF"
	fi
	if ((${#raised[@]})); then
		say "limits: raised ${raised[*]} (kept across reboots in $SYSCTL_CONF)"
	elif ((low)); then
		:
	else
		say "limits: inotify and keyring limits are high enough"
	fi
}

# ---------------------------------------------------------------- step 2: daemon
start_lxcfs() {
	lxcfs_mounted && return 0
	pid_alive "$LXCFS_PIDFILE" lxcfs && return 0
	# A dead lxcfs leaves its FUSE mount behind ("Transport endpoint is not
	# connected"): nothing under it, not even stat, works until it is gone.
	if grep -qs ' /var/lib/lxcfs ' /proc/self/mounts; then
		say "daemon: removing the stale lxcfs mount left by a dead lxcfs"
		fusermount -u /var/lib/lxcfs 2>/dev/null || umount -l /var/lib/lxcfs 2>/dev/null ||
			die "could not unmount the stale /var/lib/lxcfs (try: umount -l /var/lib/lxcfs)"
	fi
	mkdir -p /var/lib/lxcfs
	say "daemon: starting lxcfs (log: $LXCFS_LOG)"
	setsid nohup /usr/bin/lxcfs /var/lib/lxcfs </dev/null >>"$LXCFS_LOG" 2>&1 9>&- &
	echo $! >"$LXCFS_PIDFILE"
	for _ in $(seq 1 50); do
		lxcfs_mounted && return 0
		sleep 0.1
	done
	# lxcfs only makes /proc inside containers show the container's limits;
	# containers run without it.
	warn "lxcfs did not come up (see $LXCFS_LOG); containers will see the host's /proc/meminfo etc."
}

start_incusd() {
	say "daemon: starting incusd in the background (no systemd as PID 1; log: $INCUSD_LOG)"
	mkdir -p /var/log/incus
	# What the init script / unit does: raise the fd limit (as far as this
	# machine's hard limit allows) and put incus' helpers on PATH.
	(
		ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
		ulimit -u unlimited 2>/dev/null || true
		export PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin
		printf '\n=== %s setup-incus: starting incusd ===\n' "$(date -Is)" >>"$INCUSD_LOG"
		setsid nohup /usr/libexec/incus/incusd --group=incus-admin \
			</dev/null >>"$INCUSD_LOG" 2>&1 9>&- &
		echo $! >"$INCUSD_PIDFILE"
	)
}

step_daemon() {
	CURRENT_STEP=daemon
	if daemon_up; then
		say "daemon: incusd is running"
		have_systemd || start_lxcfs
		return 0
	fi
	local t0
	t0=$(now)
	if have_systemd; then
		say "daemon: systemd is PID 1, enabling and starting lxcfs and incus services"
		systemctl enable --now lxcfs.service >/dev/null 2>&1 || warn "could not start lxcfs.service"
		systemctl enable --now incus.socket incus.service ||
			die "could not start incus.service: see 'journalctl -u incus' and /var/log/incus/incus.log"
	else
		start_lxcfs
		if pid_alive "$INCUSD_PIDFILE" incusd; then
			say "daemon: incusd (pid $(cat "$INCUSD_PIDFILE")) is starting, waiting for it"
		else
			start_incusd
		fi
	fi
	if ! incus admin waitready --timeout=60 >/dev/null 2>&1; then
		tail -n 20 "$INCUSD_LOG" >&2 || true
		die "incusd did not become ready within 60s (full log: $INCUSD_LOG)"
	fi
	say "daemon: incusd ready in $(since "$t0")"
}

# ---------------------------------------------------------------- step 3: storage
step_storage() {
	CURRENT_STEP=storage
	local driver
	driver=$(incus storage show "$POOL" 2>/dev/null | awk '/^driver:/ { print $2 }' || true)
	if [[ -n $driver ]]; then
		say "storage: pool '$POOL' exists (driver $driver)"
		if [[ $driver != btrfs ]] && have_btrfs; then
			warn "pool '$POOL' uses '$driver', not btrfs: launches copy whole trees (delete the pool to get btrfs)"
		fi
		return 0
	fi
	if have_btrfs; then
		say "storage: creating btrfs pool '$POOL' on a loop file (size=$POOL_SIZE)"
		if incus storage create "$POOL" btrfs size="$POOL_SIZE" >/dev/null; then
			return 0
		fi
		warn "could not create a btrfs pool (see $INCUSD_LOG); falling back to 'dir'"
	else
		warn "kernel has no btrfs (or mkfs.btrfs missing): using a 'dir' pool, launches will copy the image"
	fi
	incus storage create "$POOL" dir >/dev/null
	say "storage: created dir pool '$POOL'"
}

# ---------------------------------------------------------------- step 4: network
ensure_network_key() { # key value
	local cur
	cur=$(incus network get "$BRIDGE" "$1" 2>/dev/null || true)
	if [[ $cur != "$2" ]]; then
		say "network: setting $1=$2 on '$BRIDGE' (was '${cur}')"
		incus network set "$BRIDGE" "$1=$2"
	fi
}

step_network() {
	CURRENT_STEP=network
	if incus_exists network show "$BRIDGE"; then
		say "network: bridge '$BRIDGE' exists ($(incus network get "$BRIDGE" ipv4.address))"
	else
		local net=${BRIDGE_ADDR%/*}
		local routes
		routes=$(ip -4 route show | grep -v "dev $BRIDGE " || true)
		if grep -q "^${net%.*}\." <<<"$routes"; then
			die "subnet of $BRIDGE_ADDR is already routed on this host ($(ip -4 route show | grep "^${net%.*}\." | sed -n 1p)); choose another with ORBTEST_BRIDGE_ADDR=a.b.c.1/24"
		fi
		say "network: creating bridge '$BRIDGE' ($BRIDGE_ADDR, DHCP, no NAT, no IPv6)"
		incus network create "$BRIDGE" ipv4.address="$BRIDGE_ADDR" ipv4.nat=false \
			ipv4.routing=true ipv4.dhcp=true ipv6.address=none >/dev/null
	fi
	ensure_network_key ipv4.nat false
	ensure_network_key ipv6.address none
	# Not ipv4.routing=false: with br_netfilter loaded (bridge-nf-call-iptables=1,
	# as here and wherever Docker ran) bridged packets pass the forward hook
	# with the bridge as in- and out-interface, so Incus' reject rules would
	# also cut container<->container traffic on the bridge.
	ensure_network_key ipv4.routing true
	ensure_bridge_fence
}

# Containers need no network beyond the bridge: drop whatever would be routed
# between the bridge and any other interface (traffic on the bridge itself and
# host<->container traffic are untouched).  Own nftables table, next to Incus'
# "inet incus"; re-applied by every run (it does not survive a reboot).
NFT_TABLE=orbtest_$BRIDGE
ensure_bridge_fence() {
	command -v nft >/dev/null || {
		warn "nft not found: containers on $BRIDGE are not fenced off from routing"
		return 0
	}
	local cur
	cur=$(nft list table inet "$NFT_TABLE" 2>/dev/null || true)
	if [[ $cur == *"iifname \"$BRIDGE\" oifname != \"$BRIDGE\" reject"* &&
		$cur == *"oifname \"$BRIDGE\" iifname != \"$BRIDGE\" reject"* ]]; then
		return 0
	fi
	say "network: nftables table inet $NFT_TABLE: nothing is routed off '$BRIDGE' (containers stay off-line)"
	nft -f - <<-EOF
		table inet $NFT_TABLE
		delete table inet $NFT_TABLE
		table inet $NFT_TABLE {
			chain forward {
				type filter hook forward priority filter; policy accept;
				iifname "$BRIDGE" oifname != "$BRIDGE" reject with icmpx type admin-prohibited
				oifname "$BRIDGE" iifname != "$BRIDGE" reject with icmpx type admin-prohibited
			}
		}
	EOF
}

# ---------------------------------------------------------------- step 4c: package proxy
# Containers reach package mirrors only through apt-cacher-ng on the
# bridge's address, and it forwards only to the mirrors this machine's own
# apt sources name for the image's suites: ForceManaged refuses every URL no
# Remap rule covers, and no CONNECT passes through.

proxy_addr() { echo "${BRIDGE_ADDR%/*}"; }
proxy_url() { echo "http://$(proxy_addr):$PROXY_PORT/"; }

# Prints the distinct mirror URIs (http only) of the image's suites, in the
# order the machine's sources give them.
proxy_mirrors() {
	local suite uri
	for suite in "$IMAGE_RELEASE" "$IMAGE_RELEASE-updates" "$IMAGE_RELEASE-security"; do
		apt_sources_for_suite "$suite" | cut -f1
	done | while read -r uri; do
		uri=${uri%/}
		case $uri in
		http://*) echo "$uri" ;;
		*) warn "proxy: apt source $uri is not http: the package proxy cannot cache it, so containers do not get it" >&2 ;;
		esac
	done | awk '!seen[$0]++'
}

# Prints "URI SUITE" for each suite of the image the machine has a source
# for, for the image's sources.list.
image_sources() {
	local suite line
	for suite in "$IMAGE_RELEASE" "$IMAGE_RELEASE-updates" "$IMAGE_RELEASE-security"; do
		line=$(apt_sources_for_suite "$suite" | cut -f1 | grep '^http://' | sed -n 1p || true)
		[[ -z $line ]] || echo "${line%/} $suite"
	done
}

proxy_config() {
	local i=0 uri
	cat <<-EOF
		# Written by orbtest scripts/setup-incus.sh: the package proxy of the
		# containers on $BRIDGE. Only the mirrors below are reachable.
		CacheDir: /var/cache/apt-cacher-ng
		LogDir: /var/log/apt-cacher-ng
		SupportDir: /usr/lib/apt-cacher-ng
		Port: $PROXY_PORT
		BindAddress: $(proxy_addr)
		PidFile: $PROXY_PIDFILE
		ForceManaged: 1
		PassThroughPattern: ^$
		ForwardBtsSoap: 0
		RedirMax: 0
		ReportPage:
		ExThreshold: 4
	EOF
	while read -r uri; do
		i=$((i + 1))
		echo "Remap-orbtest$i: ${uri#http://} ; $uri"
	done < <(proxy_mirrors)
}

proxy_listening() {
	(exec 3<>"/dev/tcp/$(proxy_addr)/$PROXY_PORT") 2>/dev/null
}

# The distribution's own apt-cacher-ng service listens on every address:
# it stays stopped.
stop_distro_proxy() {
	if have_systemd; then
		if systemctl is-enabled --quiet apt-cacher-ng.service 2>/dev/null ||
			systemctl is-active --quiet apt-cacher-ng.service 2>/dev/null; then
			say "proxy: stopping and disabling the distribution's apt-cacher-ng service (it listens on every address)"
			systemctl disable --now apt-cacher-ng.service >/dev/null 2>&1 || true
		fi
		return 0
	fi
	local pid
	for pid in $(pgrep -x apt-cacher-ng 2>/dev/null || true); do
		[[ $pid == "$(cat "$PROXY_PIDFILE" 2>/dev/null)" ]] && continue
		grep -qz -- "$PROXY_CONF_DIR" "/proc/$pid/cmdline" 2>/dev/null && continue
		say "proxy: stopping an apt-cacher-ng (pid $pid) that is not orbtest's"
		kill "$pid" 2>/dev/null || true
	done
}

start_proxy() {
	# It runs as its own user: its cache and logs are that user's.
	mkdir -p /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
	chown -R apt-cacher-ng: /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
	if have_systemd; then
		cat >/etc/systemd/system/orbtest-apt-cacher-ng.service <<-EOF
			[Unit]
			Description=orbtest's package proxy for the containers on $BRIDGE
			After=network.target incus.service

			[Service]
			User=apt-cacher-ng
			ExecStart=/usr/sbin/apt-cacher-ng -c $PROXY_CONF_DIR ForeGround=1
			Restart=on-failure

			[Install]
			WantedBy=multi-user.target
		EOF
		systemctl daemon-reload
		systemctl enable orbtest-apt-cacher-ng.service >/dev/null 2>&1 || true
		systemctl restart orbtest-apt-cacher-ng.service
		return
	fi
	touch "$PROXY_PIDFILE" "$PROXY_LOG"
	chown apt-cacher-ng: "$PROXY_PIDFILE"
	setsid nohup runuser -u apt-cacher-ng -- /usr/sbin/apt-cacher-ng -c "$PROXY_CONF_DIR" ForeGround=1 \
		</dev/null >>"$PROXY_LOG" 2>&1 9>&- &
}

step_proxy() {
	CURRENT_STEP=proxy
	find_mirror
	local want cur t0
	want=$(proxy_config)
	[[ $want == *Remap-orbtest1:* ]] || die "no http apt source for $IMAGE_RELEASE in this machine's apt sources: the package proxy would have no mirror"
	cur=$(cat "$PROXY_CONF_DIR/acng.conf" 2>/dev/null || true)
	stop_distro_proxy
	if [[ $want == "$cur" ]] && proxy_listening; then
		say "proxy: apt-cacher-ng listens on $(proxy_addr):$PROXY_PORT ($(grep -c '^Remap-' <<<"$want") mirrors)"
		return 0
	fi
	t0=$(now)
	mkdir -p "$PROXY_CONF_DIR"
	printf '%s\n' "$want" >"$PROXY_CONF_DIR/acng.conf"
	if pid_alive "$PROXY_PIDFILE" apt-cacher-ng; then
		kill "$(cat "$PROXY_PIDFILE")" 2>/dev/null || true
		for _ in $(seq 1 50); do proxy_listening || break; sleep 0.1; done
	fi
	say "proxy: starting apt-cacher-ng on $(proxy_addr):$PROXY_PORT for $(proxy_mirrors | tr '\n' ' ')(log: $PROXY_LOG)"
	start_proxy
	for _ in $(seq 1 50); do
		proxy_listening && break
		sleep 0.1
	done
	proxy_listening || die "apt-cacher-ng did not listen on $(proxy_addr):$PROXY_PORT within 5s (log: $PROXY_LOG)"
	say "proxy: ready in $(since "$t0")"
}

# ---------------------------------------------------------------- step 4b: profile
step_profile() {
	CURRENT_STEP=profile
	local changed=0
	if ! incus_exists profile show "$PROFILE"; then
		incus profile create "$PROFILE" >/dev/null
	fi
	if incus_exists profile device get "$PROFILE" root pool; then
		if [[ "$(incus profile device get "$PROFILE" root pool)" != "$POOL" ]]; then
			incus profile device set "$PROFILE" root pool="$POOL"
			changed=1
		fi
	else
		incus profile device add "$PROFILE" root disk path=/ pool="$POOL" >/dev/null
		changed=1
	fi
	if incus_exists profile device get "$PROFILE" eth0 network; then
		if [[ "$(incus profile device get "$PROFILE" eth0 network)" != "$BRIDGE" ]]; then
			incus profile device set "$PROFILE" eth0 network="$BRIDGE"
			changed=1
		fi
	else
		incus profile device remove "$PROFILE" eth0 >/dev/null 2>&1 || true
		incus profile device add "$PROFILE" eth0 nic name=eth0 network="$BRIDGE" >/dev/null
		changed=1
	fi
	if ((changed)); then
		say "profile: '$PROFILE' now has root on pool '$POOL' and eth0 on '$BRIDGE'"
	else
		say "profile: '$PROFILE' uses pool '$POOL' and bridge '$BRIDGE'"
	fi
}

# ---------------------------------------------------------------- step 5: image
# Everything below that shapes the image goes into the recipe hash, so an edit
# to it rebuilds the cached rootfs on the next run.
customize_rootfs() {
	local root=$1

	# Network: DHCPv4 on eth0 via systemd-networkd; no IPv6 on the bridge.
	mkdir -p "$root/etc/systemd/network"
	cat >"$root/etc/systemd/network/90-orbtest-eth0.network" <<-'EOF'
		[Match]
		Name=eth0

		[Network]
		DHCP=ipv4
		LinkLocalAddressing=no
		IPv6AcceptRA=no

		[DHCPv4]
		UseDomains=true
	EOF
	chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
	# Nothing waits for "network online" in a test container.
	chroot "$root" systemctl disable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
	ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

	# Boot quickly and cleanly (running, not degraded) in a container.
	local unit
	for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer systemd-timesyncd.service; do
		chroot "$root" systemctl mask "$unit" >/dev/null 2>&1 || true
	done

	# Each container gets its own machine-id at first boot.
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id"
	printf 'LANG=C.UTF-8\n' >"$root/etc/default/locale"
	printf 'localhost\n' >"$root/etc/hostname"

	if [[ -d $root/etc/cloud ]]; then
		cat >"$root/etc/cloud/cloud.cfg.d/90-orbtest.cfg" <<-'EOF'
			# orbtest: seed comes from Incus image templates (NoCloud).
			datasource_list: [ NoCloud, None ]
			# Keep the image's apt sources (the mirror the image was built from).
			apt:
			  preserve_sources_list: true
			locale: C.UTF-8
			manage_etc_hosts: false
			# The hostname is the instance's name (an Incus template, rendered
			# again for copies); a copy's seed still names its source.
			preserve_hostname: true
		EOF
		# cloud-init runs only when the instance was given cloud-init data:
		# the Incus templates leave the seed files empty otherwise, and an
		# instance without it boots without the cloud-init stages.
		local svc
		for svc in cloud-init-local cloud-init cloud-config cloud-final; do
			mkdir -p "$root/etc/systemd/system/$svc.service.d"
			cat >"$root/etc/systemd/system/$svc.service.d/orbtest-seed.conf" <<-'EOF'
				[Unit]
				ConditionFileNotEmpty=|/var/lib/cloud/seed/nocloud-net/user-data
				ConditionFileNotEmpty=|/var/lib/cloud/seed/nocloud-net/vendor-data
				ConditionFileNotEmpty=|/var/lib/cloud/seed/nocloud-net/network-config
			EOF
		done
		mkdir -p "$root/var/lib/cloud/seed/nocloud-net"
		rm -rf "$root/var/lib/cloud/instances" "$root/var/lib/cloud/instance" \
			"$root/var/log/cloud-init.log" "$root/var/log/cloud-init-output.log"
	fi

	# Packages: the machine's mirrors for the image's suites, reached through
	# the package proxy on the bridge, and lists, so that a test's
	# `apt-get install` works without an `apt-get update` of its own.
	local uri suite
	: >"$root/etc/apt/sources.list"
	while read -r uri suite; do
		printf 'deb %s %s main\n' "$uri" "$suite" >>"$root/etc/apt/sources.list"
	done < <(image_sources)
	cat >"$root/etc/apt/apt.conf.d/80orbtest" <<-EOF
		// orbtest: packages come through the package proxy on the bridge.
		Acquire::http::Proxy "$(proxy_url)";
		Acquire::Languages "none";
		Acquire::GzipIndexes "true";
		Acquire::CompressionTypes::Order:: "gz";
	EOF
	# The image's resolv.conf points at systemd-resolved, which does not run
	# in the chroot: the host's resolves the mirror for this one update.
	mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.orbtest"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	if ! chroot "$root" apt-get -q -o Acquire::http::Proxy=false update >>"$BUILD_LOG" 2>&1; then
		tail -n 20 "$BUILD_LOG" >&2
		die "apt-get update in the image failed (full log: $BUILD_LOG)"
	fi
	mv -f "$root/etc/resolv.conf.orbtest" "$root/etc/resolv.conf"

	# Slim down: no caches.
	rm -rf "$root/var/cache/apt/"*.bin \
		"$root/var/cache/apt/archives/"*.deb "$root/var/cache/debconf/"*-old \
		"$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"* 2>/dev/null || true
	rm -rf "$root/usr/share/doc/"* "$root/usr/share/man/"* "$root/usr/share/info/"* 2>/dev/null || true
}

write_metadata() {
	local dir=$1 with_cloud_init=$2 serial=$3
	mkdir -p "$dir/templates"
	{
		printf 'architecture: %s\n' "$UNAME_ARCH"
		printf 'creation_date: %s\n' "$(date +%s)"
		printf 'properties:\n'
		printf '  os: debian\n'
		printf '  release: %s\n' "$IMAGE_RELEASE"
		printf '  architecture: %s\n' "$DEB_ARCH"
		printf '  variant: %s\n' "$([[ $with_cloud_init == 1 ]] && echo cloud || echo default)"
		printf '  serial: "%s"\n' "$serial"
		printf '  description: Debian %s %s (orbtest, debootstrap minbase)\n' "$IMAGE_RELEASE" "$DEB_ARCH"
		printf 'templates:\n'
		printf '  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n'
		printf '  /etc/hosts:\n    when: [create, copy]\n    template: hosts.tpl\n'
		if [[ $with_cloud_init == 1 ]]; then
			# At create only: a copy keeps its source's seed and so its
			# instance-id, and cloud-init does not provision it again.
			local f
			for f in meta-data user-data vendor-data network-config; do
				printf '  /var/lib/cloud/seed/nocloud-net/%s:\n    when: [create]\n    template: cloud-init-%s.tpl\n' "$f" "$f"
			done
		fi
	} >"$dir/metadata.yaml"
	printf '{{ instance.name }}\n' >"$dir/templates/hostname.tpl"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t{{ instance.name }}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
		>"$dir/templates/hosts.tpl"
	if [[ $with_cloud_init == 1 ]]; then
		# Same keys as the distrobuilder-built cloud images: cloud-init.* and
		# the older user.* names.  Empty output when a key is unset (see the
		# ConditionFileNotEmpty drop-ins in the image).
		printf 'instance-id: {{ instance.name }}\nlocal-hostname: {{ instance.name }}\n{{ config_get("user.meta-data", "") }}\n' \
			>"$dir/templates/cloud-init-meta-data.tpl"
		local key
		for key in user-data vendor-data network-config; do
			printf '{%% if config_get("cloud-init.%s", "") != "" %%}{{ config_get("cloud-init.%s", "") }}\n{%% elif config_get("user.%s", "") != "" %%}{{ config_get("user.%s", "") }}\n{%% endif %%}' \
				"$key" "$key" "$key" "$key" >"$dir/templates/cloud-init-$key.tpl"
		done
	fi
}

# Bump when the build changes the image in a way the functions below don't show.
IMAGE_FORMAT=1
recipe_hash() {
	{
		printf '%s\n' "$IMAGE_FORMAT" "$IMAGE_RELEASE" "$DEB_ARCH" "$MIRROR_URI" "$WITH_CLOUD_INIT" "${IMAGE_PKGS[@]}"
		proxy_url
		image_sources
		declare -f customize_rootfs write_metadata
	} | sha256sum | cut -c1-12
}

build_image() { # outdir
	local out=$1 work rootfs t0
	work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
	rootfs=$work/rootfs
	BUILD_WORK=$work
	t0=$(now)
	say "image: debootstrap $IMAGE_RELEASE ($DEB_ARCH, minbase + ${#IMAGE_PKGS[@]} packages) from $MIRROR_URI (log: $BUILD_LOG)"
	local include
	include=$(
		IFS=,
		echo "${IMAGE_PKGS[*]}"
	)
	# --cache-dir keeps the downloaded .debs, so a recipe change rebuilds
	# without downloading again.
	mkdir -p "$CACHE_DIR/debs"
	if ! debootstrap --variant=minbase --arch="$DEB_ARCH" --components=main \
		--cache-dir="$CACHE_DIR/debs" \
		--include="$include" "$IMAGE_RELEASE" "$rootfs" "$MIRROR_URI" >"$BUILD_LOG" 2>&1; then
		if [[ -r $rootfs/debootstrap/debootstrap.log ]]; then
			printf '\n=== %s/debootstrap/debootstrap.log ===\n' "$rootfs" >>"$BUILD_LOG"
			cat "$rootfs/debootstrap/debootstrap.log" >>"$BUILD_LOG"
		fi
		tail -n 20 "$BUILD_LOG" >&2
		die "debootstrap failed (full log: $BUILD_LOG)"
	fi
	say "image: debootstrap done in $(since "$t0"), customizing"
	customize_rootfs "$rootfs"
	local serial
	serial=$(date -u +%Y%m%d_%H%M)
	write_metadata "$work/meta" "$WITH_CLOUD_INIT" "$serial"
	t0=$(now)
	say "image: packing rootfs ($(du -sm "$rootfs" | cut -f1) MiB) and metadata"
	# zstd: a fraction of xz's time for a little more size; Incus unpacks it.
	tar -C "$work/meta" --numeric-owner -cf - metadata.yaml templates | zstd -q -T0 -6 >"$work/$META_TARBALL"
	tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' -cf - . | zstd -q -T0 -6 >"$work/$ROOTFS_TARBALL"
	rm -rf "$rootfs"
	mkdir -p "$out"
	mv "$work/$META_TARBALL" "$work/$ROOTFS_TARBALL" "$out/"
	rm -rf "$work"
	BUILD_WORK=
	say "image: packed in $(since "$t0") ($(du -sm "$out/$ROOTFS_TARBALL" | cut -f1) MiB), cached in $out"
}

# step_image_public, on hosts whose apt sources hold no Debian mirror (such
# as Ubuntu CI runners, which reach the internet), copies the image from the
# public image server under the same alias instead of building it.
step_image_public() {
	if [[ -n "$(image_fingerprint_of_alias || true)" ]]; then
		say "image: '$IMAGE_ALIAS' is present"
		return 0
	fi
	local t0
	t0=$(now)
	say "image: this host's apt sources have no Debian mirror; copying images:$IMAGE_ALIAS/cloud from the public image server"
	if ! incus image copy "images:$IMAGE_ALIAS/cloud" local: --alias "$IMAGE_ALIAS" >/dev/null; then
		die "could not copy images:$IMAGE_ALIAS/cloud (no network?)"
	fi
	say "image: '$IMAGE_ALIAS' copied in $(since "$t0")"
}

image_fingerprint_of_alias() {
	incus image info "$IMAGE_ALIAS" 2>/dev/null | awk '/^Fingerprint:/ && !n++ { print $2 }'
}

step_image() {
	CURRENT_STEP=image
	if [[ $HOST_ID != debian ]]; then
		step_image_public
		return
	fi
	find_mirror
	local hash out fp want
	hash=$(recipe_hash)
	out=$CACHE_DIR/images/debian-$IMAGE_RELEASE-$DEB_ARCH-$hash
	fp=$(image_fingerprint_of_alias || true)
	if ((REBUILD_IMAGE)); then
		rm -rf "$out"
	fi
	if [[ -s $out/$META_TARBALL && -s $out/$ROOTFS_TARBALL ]]; then
		want=$(cat "$out/$META_TARBALL" "$out/$ROOTFS_TARBALL" | sha256sum | cut -d' ' -f1)
		if [[ -n $fp && $fp == "$want" ]]; then
			say "image: '$IMAGE_ALIAS' is imported (fingerprint ${fp:0:12}, recipe $hash)"
			return 0
		fi
		say "image: using cached build $out"
	else
		mkdir -p "$CACHE_DIR/images"
		build_image "$out"
		want=$(cat "$out/$META_TARBALL" "$out/$ROOTFS_TARBALL" | sha256sum | cut -d' ' -f1)
	fi
	local t0
	t0=$(now)
	if ! incus image info "$want" >/dev/null 2>&1; then
		say "image: importing $out"
		incus image import "$out/$META_TARBALL" "$out/$ROOTFS_TARBALL" >/dev/null
	fi
	if [[ -n $fp && $fp != "$want" ]]; then
		# Users launch by alias: move it with only a moment between delete and create.
		say "image: moving alias '$IMAGE_ALIAS' from ${fp:0:12} to ${want:0:12}"
		incus image alias delete "$IMAGE_ALIAS" >/dev/null
		incus image alias create "$IMAGE_ALIAS" "$want" >/dev/null
		# Drop the old image unless another alias still names it.
		local aliases
		aliases=$(incus image info "$fp" 2>/dev/null | sed -n '/^Aliases:/,/^[A-Z]/p' || true)
		if [[ $aliases != *"- "* ]]; then
			incus image delete "$fp" >/dev/null 2>&1 || true
		fi
	elif [[ -z $fp ]]; then
		incus image alias create "$IMAGE_ALIAS" "$want" >/dev/null
	fi
	say "image: '$IMAGE_ALIAS' is ${want:0:12} (imported in $(since "$t0"))"
	VERIFY_CLOUD_INIT=1
	# Old cached builds of other recipes are no longer needed.
	local d
	for d in "$CACHE_DIR/images/debian-$IMAGE_RELEASE-$DEB_ARCH-"*; do
		[[ $d == "$out" || ! -d $d ]] || rm -rf "$d"
	done
}

# ---------------------------------------------------------------- step 6: verify
CHECK_NAMES=()
BUILD_WORK=
cleanup() {
	local n
	for n in "${CHECK_NAMES[@]}"; do
		incus delete -f "$n" >/dev/null 2>&1 || true
	done
	if [[ -n $BUILD_WORK && -d $BUILD_WORK ]]; then
		rm -rf "$BUILD_WORK"
	fi
}
trap cleanup EXIT

# Waits until systemd in instance $1 is up; prints is-system-running's answer.
wait_systemd() {
	# systemctl needs PID 1's private socket; right after launch it is not there yet.
	incus exec "$1" -- timeout 60 sh -c \
		'until [ -S /run/systemd/private ]; do sleep 0.05; done; systemctl is-system-running --wait' 2>/dev/null || true
}

check_systemd_state() { # name state
	case $2 in
	running) ;;
	degraded)
		warn "$1: systemd is degraded; failed units: $(incus exec "$1" -- systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
		;;
	*)
		incus info --show-log "$1" 2>&1 | tail -n 20 >&2 || true
		die "$1: systemd did not reach running/degraded within 60s (state '$2')"
		;;
	esac
}

instance_ipv4() { # name; waits up to 10s for eth0's DHCP address
	local ip=''
	for _ in $(seq 1 100); do
		ip=$(incus exec "$1" -- ip -4 -o addr show dev eth0 scope global 2>/dev/null | awk '!n++ { sub(/\/.*/, "", $4); print $4 }')
		[[ -n $ip ]] && break
		sleep 0.1
	done
	[[ -n $ip ]] || die "$1 got no IPv4 on eth0 from $BRIDGE's DHCP (see 'incus exec $1 -- networkctl status eth0', $INCUSD_LOG)"
	echo "$ip"
}

step_verify() {
	CURRENT_STEP=verify
	# a: the instance the host talks to; b: a second one booting alongside,
	# which talks to a over the bridge and, after an image import (or with
	# --full-verify), is launched with cloud-init user data.
	local a=orbtest-setup-check-$$ b=orbtest-setup-check-$$-b
	local t0 t_launch t_boot ip state b_state b_t0 b_boot with_ci=0
	local -a profile_args=()
	[[ $PROFILE == default ]] || profile_args=(--profile "$PROFILE")
	CHECK_NAMES+=("$a")
	t0=$(now)
	if ! incus launch "$IMAGE_ALIAS" "$a" "${profile_args[@]}" >/dev/null; then
		die "could not launch $a from '$IMAGE_ALIAS' (see $INCUSD_LOG, 'incus info --show-log $a')"
	fi
	t_launch=$(since "$t0")
	if ((VERIFY_CLOUD_INIT)) &&
		[[ "$(incus image get-property "$IMAGE_ALIAS" variant 2>/dev/null || true)" == cloud ]]; then
		with_ci=1
	fi
	CHECK_NAMES+=("$b")
	b_t0=$(now)
	if ((with_ci)); then
		incus launch "$IMAGE_ALIAS" "$b" "${profile_args[@]}" -c cloud-init.user-data="#cloud-config
write_files:
  - path: /run/orbtest-cloud-init
    content: wrote
runcmd:
  - [sh, -c, 'echo ran >> /run/orbtest-cloud-init']" >/dev/null
	else
		incus launch "$IMAGE_ALIAS" "$b" "${profile_args[@]}" >/dev/null
	fi

	state=$(wait_systemd "$a")
	t_boot=$(since "$t0")
	check_systemd_state "$a" "$state"
	ip=$(instance_ipv4 "$a")
	incus exec "$a" -- systemd-run --quiet --unit=orbtest-http \
		python3 -m http.server 8080 --bind 0.0.0.0 --directory /etc >/dev/null
	local reply=
	for _ in $(seq 1 50); do
		# shellcheck disable=SC2016 # $0 is expanded by the inner bash
		reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/8080" && printf "GET /hostname HTTP/1.0\r\n\r\n" >&3 && cat <&3' "$ip" 2>/dev/null || true)
		[[ $reply == *"200 OK"* ]] && break
		sleep 0.1
	done
	[[ $reply == *"200 OK"* ]] ||
		die "the host could not reach http://$ip:8080 in $a over $BRIDGE (check 'ip addr show $BRIDGE', 'nft list ruleset')"
	[[ $reply == *"$a"* ]] || warn "$a: /etc/hostname is not the instance name (image template)"
	say "verify: $a: launch ${t_launch}, systemd '$state' ${t_boot} after launch began, IPv4 $ip, host fetched http://$ip:8080/ from it"

	b_state=$(wait_systemd "$b")
	b_boot=$(since "$b_t0")
	check_systemd_state "$b" "$b_state"
	instance_ipv4 "$b" >/dev/null
	local got
	got=$(incus exec "$b" -- python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://%s:8080/hostname" % sys.argv[1], timeout=5).read().decode().strip())' "$ip" 2>&1 || true)
	[[ $got == "$a" ]] ||
		die "$b could not reach $a (http://$ip:8080) over $BRIDGE: $got (is bridge traffic filtered? 'nft list ruleset', sysctl net.bridge.bridge-nf-call-iptables)"
	local reached="by address and as $a.incus"
	if ! incus exec "$b" -- getent hosts "$a.incus" >/dev/null 2>&1; then
		warn "$b cannot resolve $a.incus (the bridge's dnsmasq); addresses work"
		reached="by address"
	fi
	if ((with_ci)); then
		got=$(incus exec "$b" -- cat /run/orbtest-cloud-init 2>/dev/null | tr '\n' ' ' || true)
		if [[ $got != wrote*ran* ]]; then
			incus exec "$b" -- tail -n 20 /var/log/cloud-init.log >&2 2>/dev/null || true
			die "$b: cloud-init user data did not run (expected 'wrote ran', got '$got'); see /var/log/cloud-init.log in it"
		fi
		say "verify: $b: cloud-init ran its user data (write_files + runcmd), systemd '$b_state' ${b_boot} after launch began, reached $a $reached"
	else
		say "verify: $b: systemd '$b_state' ${b_boot} after launch began, reached $a $reached"
	fi
	incus delete -f "${CHECK_NAMES[@]}" >/dev/null
	CHECK_NAMES=()
}

# ---------------------------------------------------------------- step 4c: https on loopback
# For the integration suite's remote test (integration/remote_test.go), which
# adds this daemon as an Incus remote over HTTPS and runs machines through it
# (ORBTEST_INCUS_REMOTE). Loopback only: nothing off this host can connect,
# and a client still needs a trust token the test issues and revokes itself.
# ORBTEST_HTTPS_ADDRESS overrides the address; "none" skips the step. An
# address that is already set is left alone.
HTTPS_ADDRESS=${ORBTEST_HTTPS_ADDRESS:-127.0.0.1:8443}
step_https() {
	CURRENT_STEP=https
	if [[ $HTTPS_ADDRESS == none ]]; then
		say "https: skipped (ORBTEST_HTTPS_ADDRESS=none)"
		return 0
	fi
	local cur
	cur=$(incus config get core.https_address 2>/dev/null || true)
	if [[ -n $cur ]]; then
		say "https: incusd listens on $cur"
		return 0
	fi
	incus config set core.https_address "$HTTPS_ADDRESS"
	say "https: incusd now listens on $HTTPS_ADDRESS (loopback, for the remote test)"
}

# ---------------------------------------------------------------- --check
status_line() { printf 'setup-incus: %-10s %s\n' "$1" "$2"; }

do_check() {
	local ok=1 missing
	missing=$(missing_packages | tr '\n' ' ')
	if [[ -z $missing ]]; then
		status_line packages "ok (incus-base $(dpkg-query -W -f='${Version}' incus-base))"
	else
		status_line packages "MISSING: $missing"
		ok=0
	fi
	if ! command -v incus >/dev/null || ! daemon_up; then
		status_line daemon "DOWN (start it: $0; log: $INCUSD_LOG)"
		return 1
	fi
	status_line daemon "ok ($(incus query /1.0 | awk -F'"' '/"server_version"/ { print $4 }' || true), lxcfs $(lxcfs_mounted && echo mounted || echo 'not mounted'))"
	local driver
	driver=$(incus storage show "$POOL" 2>/dev/null | awk '/^driver:/ { print $2 }' || true)
	if [[ -n $driver ]]; then status_line pool "ok ($POOL, $driver)"; else
		status_line pool "MISSING ($POOL)"
		ok=0
	fi
	if incus_exists network show "$BRIDGE"; then
		status_line network "ok ($BRIDGE, $(incus network get "$BRIDGE" ipv4.address), nat=$(incus network get "$BRIDGE" ipv4.nat))"
	else
		status_line network "MISSING ($BRIDGE)"
		ok=0
	fi
	local root eth0
	root=$(incus profile device get "$PROFILE" root pool 2>/dev/null || true)
	eth0=$(incus profile device get "$PROFILE" eth0 network 2>/dev/null || true)
	if [[ $root == "$POOL" && $eth0 == "$BRIDGE" ]]; then status_line profile "ok ($PROFILE: root on $root, eth0 on $eth0)"; else
		status_line profile "NOT SET UP ($PROFILE: root pool '$root', eth0 network '$eth0')"
		ok=0
	fi
	local fp
	fp=$(image_fingerprint_of_alias || true)
	if [[ -n $fp ]]; then status_line image "ok ($IMAGE_ALIAS, ${fp:0:12})"; else
		status_line image "MISSING ($IMAGE_ALIAS)"
		ok=0
	fi
	if proxy_listening; then
		status_line proxy "ok (apt-cacher-ng on $(proxy_addr):$PROXY_PORT, $(grep -c '^Remap-' "$PROXY_CONF_DIR/acng.conf" 2>/dev/null || echo 0) mirrors, cache $(du -sh /var/cache/apt-cacher-ng 2>/dev/null | cut -f1))"
	else
		status_line proxy "DOWN (no apt-cacher-ng on $(proxy_addr):$PROXY_PORT; run $0)"
		ok=0
	fi
	local https
	https=$(incus config get core.https_address 2>/dev/null || true)
	status_line https "${https:-not set} (core.https_address, for the remote test; set up by $0)"
	local kv key cur
	for kv in "${HOST_LIMITS[@]}"; do
		key=${kv%%=*}
		cur=$(sysctl -n "$key" 2>/dev/null || echo 0)
		if ((cur < ${kv#*=})); then
			status_line limits "LOW ($key = $cur, want ${kv#*=})"
			ok=0
		fi
	done
	local n
	n=$(incus list -c n -f csv 2>/dev/null | grep -c . || true)
	status_line instances "$n"
	((ok))
}

# ---------------------------------------------------------------- main
[[ $(id -u) == 0 ]] || die "must run as root (sudo $0)"

if [[ $MODE == check ]]; then
	CURRENT_STEP=check
	if do_check; then
		say "status: ready"
		exit 0
	fi
	say "status: NOT ready (run $0 to set up)"
	exit 1
fi

# One setup at a time (a second run waits for the first, then finds it done).
LOCK_FILE=/run/lock/orbtest-setup-incus.lock
[[ -d ${LOCK_FILE%/*} && -w ${LOCK_FILE%/*} ]] || LOCK_FILE=/tmp/orbtest-setup-incus.lock
# fd 9 holds the lock: the daemons this script starts must not inherit it
# (they are started with 9>&-), or every later run would wait for them.
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
	say "another setup-incus.sh is running, waiting for it"
	flock -w 900 9 || die "gave up waiting for the other setup-incus.sh (lock $LOCK_FILE)"
fi

T_START=$(now)
step_packages
step_limits
step_daemon
step_storage
step_network
step_profile
step_proxy
step_https
step_image
if ((VERIFY)); then
	step_verify
else
	say "verify: skipped (--no-verify)"
fi
say "done in $(since "$T_START"): pool '$POOL', bridge '$BRIDGE' ($(incus network get "$BRIDGE" ipv4.address)), profile '$PROFILE', image '$IMAGE_ALIAS'"
