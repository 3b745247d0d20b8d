#!/bin/sh
# install.sh installs greeter, a tiny HTTP service that answers every GET
# with a greeting, as the systemd unit greeter.service running as the
# system user greeter.
#
#   install.sh              install, or update to the configuration given
#   install.sh --uninstall  remove everything install.sh created
#
# Configuration comes from the environment:
#
#   GREETER_PORT      TCP port to listen on (default 8080)
#   GREETER_GREETING  text to answer with (default "hello")
#
# Running it again with the same configuration changes nothing and leaves
# the running service alone; with a new configuration it restarts the
# service. It exits 2 on bad input, before changing anything.
set -eu

PORT="${GREETER_PORT:-8080}"
GREETING="${GREETER_GREETING:-hello}"
BIN=/usr/local/bin/greeter
CONF=/etc/greeter/greeter.env
UNIT=/etc/systemd/system/greeter.service

log() { printf 'greeter: %s\n' "$*"; }
die() { printf 'greeter: %s\n' "$*" >&2; exit 2; }

# write_if_changed PATH MODE: writes stdin to PATH unless PATH already holds
# exactly that; returns 0 when it wrote.
write_if_changed() {
	tmp=$(mktemp)
	cat >"$tmp"
	if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
		rm -f "$tmp"
		return 1
	fi
	install -m "$2" "$tmp" "$1"
	rm -f "$tmp"
	return 0
}

uninstall() {
	systemctl disable --now greeter.service >/dev/null 2>&1 || true
	rm -f "$UNIT" "$BIN"
	rm -rf /etc/greeter
	systemctl daemon-reload
	if id greeter >/dev/null 2>&1; then
		userdel greeter
	fi
	log "uninstalled"
}

if [ "$(id -u)" -ne 0 ]; then
	die "must run as root"
fi
case "${1:-}" in
--uninstall)
	uninstall
	exit 0
	;;
"") ;;
*) die "unknown argument ${1}: use no argument or --uninstall" ;;
esac
case "$PORT" in
'' | *[!0-9]*) die "GREETER_PORT=$PORT is not a port number" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
	die "GREETER_PORT=$PORT is out of range 1-65535"
fi
command -v python3 >/dev/null || die "python3 is required"

if ! id greeter >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin greeter
	log "created user greeter"
fi
mkdir -p /etc/greeter

changed=0
write_if_changed "$BIN" 0755 <<'PY' && changed=1
#!/usr/bin/python3
"""greeter answers every GET with $GREETER_GREETING."""
import http.server
import os

GREETING = os.environ.get("GREETER_GREETING", "hello").encode() + b"\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(GREETING)))
        self.end_headers()
        self.wfile.write(GREETING)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("", int(os.environ["GREETER_PORT"])), Handler).serve_forever()
PY
printf 'GREETER_PORT=%s\nGREETER_GREETING=%s\n' "$PORT" "$GREETING" |
	write_if_changed "$CONF" 0644 && changed=1
write_if_changed "$UNIT" 0644 <<UNIT && changed=1
[Unit]
Description=greeter HTTP service
After=network.target

[Service]
User=greeter
EnvironmentFile=$CONF
ExecStart=$BIN
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT

if [ "$changed" -eq 1 ]; then
	systemctl daemon-reload
	systemctl enable greeter.service >/dev/null 2>&1
	systemctl restart greeter.service
	log "installed; listening on port $PORT"
else
	systemctl enable --now greeter.service >/dev/null 2>&1
	log "already up to date"
fi

# Return only once the service answers, so that callers can use it at once.
i=0
until ss -Hltn "sport = :$PORT" | grep -q .; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		printf 'greeter: service is not listening on port %s after 10s\n' "$PORT" >&2
		systemctl status --no-pager greeter.service >&2 || true
		exit 1
	fi
	sleep 0.1
done
