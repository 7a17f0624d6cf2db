# dnslib.sh - end-to-end harness for the DNS checks (SPF, DNSBL, RHSBL,
# HELO, allowlists, early talkers). Each tests/e2e/t_dns_*.sh,
# t_spf_*.sh ... sources it:
#
#	. "$(dirname "$0")/dnslib.sh"
#
# Written beside lib.sh (issue 5); both take their basics from
# common.sh. What stays here differs from lib.sh on purpose: the
# configuration is given inline (mxg_conf <<CONF, with @DNS@ for the
# resolver lines) and clients connect from chosen loopback addresses
# (127.0.0.x) so DNSBL listings apply; start_dns, start_blackhole and
# dns_conf run the nsd the checks ask.
#
# From `make check` the environment has MXGUARD, SRCDIR and TESTDATA; by
# hand: MXGUARD=./mxguard SRCDIR=$PWD bash tests/e2e/t_dnsbl_listed.sh
# (E2E_KEEP=1 keeps the test's directory, E2E_DEBUG=1 logs at debug).

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MXG_PID=""
MXG_LOG=""

finish() { exit 0; }

_cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM
	set +e
	if [ -n "$MXG_PID" ] && kill -0 "$MXG_PID" 2>/dev/null; then
		kill -TERM "$MXG_PID" 2>/dev/null
		for i in $(seq 1 30); do
			kill -0 "$MXG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MXG_PID" 2>/dev/null
	fi
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for i in $(seq 1 20); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${SKIPPED:-0}" = 1 ]; then
		rc=77
	elif [ "$FAILED" -gt 0 ]; then
		if [ -n "$MXG_LOG" ] && [ -f "$MXG_LOG" ]; then
			echo "---- last lines of mxguard's log ($MXG_LOG)"
			tail -n 40 "$MXG_LOG"
			echo "----"
		fi
		printf 'FAIL: %s (%d failed check%s)\n' "$TEST" "$FAILED" \
		    "$([ "$FAILED" = 1 ] || echo s)"
		rc=1
	elif [ "$rc" = 0 ]; then
		printf 'PASS: %s\n' "$TEST"
	else
		printf 'FAIL: %s (exit %s)\n' "$TEST" "$rc"
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/mxg-e2e.$TEST.XXXXXX") || {
	echo "cannot create a temporary directory"; exit 99; }
chmod 755 "$T"
trap _cleanup EXIT
trap 'exit 130' INT TERM

for _tool in "$PY" smtp-sink swaks ss nsd dig; do
	command -v "$_tool" >/dev/null 2>&1 || skip "$_tool not installed"
done
[ -x "$MXGUARD" ] || fatal "no mxguard binary at $MXGUARD"

# start_sink [smtp-sink options]: the backend; SINK_PORT, SINK_DIR.
start_sink() {
	local try pid port
	SINK_DIR=$T/sink
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR" 2>/dev/null || chmod 777 "$SINK_DIR"
	for try in 1 2 3; do
		port=$(pick_port) || fatal "no port"
		smtp-sink -u nobody "$@" -d "$SINK_DIR/%M." "127.0.0.1:$port" \
		    100 >>"$T/sink.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		if wait_for 5 "port_listening $port || ! kill -0 $pid 2>/dev/null" &&
		    kill -0 "$pid" 2>/dev/null; then
			SINK_PORT=$port
			BACKEND_PORT=$port
			return 0
		fi
	done
	fatal "smtp-sink did not start"
}

sink_count() {
	find "$SINK_DIR" -type f -size +0 2>/dev/null | wc -l
}

expect_sink_count() {
	local got
	got=$(sink_count)
	if [ "$got" -eq "$1" ]; then
		ok "$1 message(s) at the sink"
	else
		fail "expected $1 message(s) at the sink, found $got"
	fi
}

expect_sink_contains() {
	if grep -rqaE -- "$1" "$SINK_DIR" 2>/dev/null; then
		ok "sink has /$1/"
	else
		fail "nothing at the sink matches /$1/"
	fi
}

expect_sink_not_contains() {
	if grep -rqaE -- "$1" "$SINK_DIR" 2>/dev/null; then
		fail "the sink has /$1/"
	else
		ok "sink has no /$1/"
	fi
}

# mxg_conf <<CONF: the configuration for the next start_mxguard, with
# @PORT@ @BACKEND_PORT@ @DIR@ @LOG_LEVEL@ filled in, a line @DNS@ replaced
# by the resolver keys (dns_conf), and a line @BASE@ by what most tests
# start with: listen, backend, relay_domains = example.org, log_level, and
# the resolver keys.
mxg_conf() {
	MXG_CONF=$T/mxguard.conf
	MXG_CONF_IN=$T/mxguard.conf.in
	cat > "$MXG_CONF_IN"
}

_mxg_conf_fill() {
	local dns
	dns=$(dns_conf)
	awk -v port="$MXG_PORT" -v bport="${BACKEND_PORT:-0}" -v dir="$T" \
	    -v dns="$dns" -v lvl="$([ "${E2E_DEBUG:-0}" = 1 ] && echo debug || echo info)" '
		{ gsub(/@PORT@/, port); gsub(/@BACKEND_PORT@/, bport);
		  gsub(/@DIR@/, dir); gsub(/@LOG_LEVEL@/, lvl) }
		/^@DNS@$/ { print dns; next }
		/^@BASE@$/ { print "listen = 127.0.0.1:" port
			     print "backend = 127.0.0.1:" bport
			     print "relay_domains = example.org"
			     print "log_level = " lvl
			     print dns; next }
		{ print }' "$MXG_CONF_IN" > "$MXG_CONF"
}

# start_mxguard: runs mxguard with the config from mxg_conf; waits for
# "mxguard ready". MXG_PORT, MXG_LOG, MXG_PID.
start_mxguard() {
	local try
	MXG_LOG=$T/mxguard.log
	for try in 1 2 3; do
		MXG_PORT=$(pick_port) || fatal "no port"
		_mxg_conf_fill
		: > "$MXG_LOG"
		"$MXGUARD" -c "$MXG_CONF" >>"$MXG_LOG" 2>&1 &
		MXG_PID=$!
		if wait_for 10 "grep -q 'mxguard ready' $MXG_LOG || ! kill -0 $MXG_PID 2>/dev/null" &&
		    kill -0 "$MXG_PID" 2>/dev/null; then
			return 0
		fi
		grep -q 'Address already in use' "$MXG_LOG" || break
	done
	cat "$MXG_LOG"
	fatal "mxguard did not start"
}

# stop_mxguard: SIGTERM and wait (at most 10 s).
stop_mxguard() {
	[ -n "$MXG_PID" ] || return 0
	kill -TERM "$MXG_PID" 2>/dev/null
	wait_for 10 "! kill -0 $MXG_PID 2>/dev/null" ||
	    fail "mxguard did not stop on SIGTERM"
	wait "$MXG_PID" 2>/dev/null
	MXG_PID=""
}

# restart_mxguard: a new process with the config mxg_conf wrote last; the
# log and the counters start afresh (the old log is kept beside it).
restart_mxguard() {
	stop_mxguard
	cp "$MXG_LOG" "$MXG_LOG.$RANDOM" 2>/dev/null
	start_mxguard
}

# reload_mxguard: SIGHUP with the config mxg_conf wrote last; waits until
# mxguard says it loaded or refused it.
reload_mxguard() {
	local re='reload: configuration loaded|reload failed' n
	n=$(grep -cE "$re" "$MXG_LOG")
	_mxg_conf_fill
	kill -HUP "$MXG_PID"
	wait_for 10 "[ \$(grep -cE '$re' $MXG_LOG) -gt $n ]" ||
	    fail "mxguard did not reload"
}

# swaks_send [swaks options]: one SMTP session to mxguard; LAST holds the
# transcript. Default: from 127.0.0.3 (the good client).
swaks_send() {
	LAST=$T/swaks.$RANDOM.out
	swaks --server 127.0.0.1 --port "$MXG_PORT" --timeout 20 \
	    --to user@example.org --from someone@mail.example.test \
	    --helo mail.example.test --local-interface 127.0.0.3 \
	    --header "Subject: $TEST" --body "test body" "$@" \
	    >"$LAST" 2>&1
	return 0
}

# raw_session BYTES...: a raw client (see dnsraw.py); LAST = transcript.
raw_session() {
	LAST=$T/raw.$RANDOM.out
	"$PY" "$E2E_DIR/dnsraw.py" "$MXG_PORT" "$@" >"$LAST" 2>&1
	return 0
}

expect_reply() {
	if grep -qE -- "$1" "$LAST"; then
		ok "reply /$1/"
	else
		fail "no reply matches /$1/; transcript:"
		sed -e 's/^/    /' "$LAST" | tail -n 30
	fi
}

expect_no_reply() {
	if grep -qE -- "$1" "$LAST"; then
		fail "a reply matches /$1/:"
		grep -E -- "$1" "$LAST" | sed -e 's/^/    /'
	else
		ok "no reply /$1/"
	fi
}

expect_log() {
	if grep -qE -- "$1" "$MXG_LOG"; then
		ok "log /$1/"
	else
		fail "no log line matches /$1/"
	fi
}

expect_no_log() {
	if grep -qE -- "$1" "$MXG_LOG"; then
		fail "a log line matches /$1/:"
		grep -E -- "$1" "$MXG_LOG" | head -n 5 | sed -e 's/^/    /'
	else
		ok "no log /$1/"
	fi
}

wait_log() {
	wait_for "${2:-10}" "grep -qE -- '$1' '$MXG_LOG'" ||
	    fail "no log line matches /$1/ within ${2:-10}s"
}

# expect_counter NAME [OP] VALUE: from SIGUSR1's "stats" line.
expect_counter() {
	local name=$1 op=-eq want got n
	if [ $# -eq 3 ]; then op=$2; want=$3; else want=$2; fi
	n=$(grep -c ' stats ' "$MXG_LOG")
	kill -USR1 "$MXG_PID"
	wait_for 5 "[ \$(grep -c ' stats ' $MXG_LOG) -gt $n ]" ||
	    { fail "no stats line after SIGUSR1"; return; }
	got=$(grep ' stats ' "$MXG_LOG" | tail -n 1 |
	    tr ' ' '\n' | sed -n "s/^$name=//p")
	got=${got:-0}
	if [ "$got" "$op" "$want" ]; then
		ok "counter $name=$got ($op $want)"
	else
		fail "counter $name=$got, want $op $want"
	fi
}

# ---- DNS: what lib.sh lacks --------------------------------------------------

# start_dns [ZONE_DIR]: nsd on 127.0.0.1 at a free port serving every
# NAME.zone file of ZONE_DIR (default tests/e2e/zones; root.zone is the
# zone "."), each checked with nsd-checkzone first. Also starts the black
# hole for timeout.test (once). DNS_PORT, DNS_DIR, DNS_PID.
start_dns() {
	local zdir=${1:-$E2E_DIR/zones} f z first="" try pid
	[ -n "${BLACKHOLE_PORT:-}" ] || start_blackhole
	DNS_DIR=$T/nsd.$RANDOM
	mkdir -p "$DNS_DIR/zones"
	for try in 1 2 3; do
		DNS_PORT=$(pick_port) || fatal "no port"
		cat > "$DNS_DIR/nsd.conf" <<EOF
server:
	port: $DNS_PORT
	ip-address: 127.0.0.1
	zonesdir: "$DNS_DIR/zones"
	pidfile: "$DNS_DIR/nsd.pid"
	xfrdfile: "$DNS_DIR/xfrd.state"
	zonelistfile: "$DNS_DIR/zone.list"
	username: ""
	chroot: ""
	database: ""
	logfile: "$DNS_DIR/nsd.log"
	server-count: 1
	rrl-ratelimit: 0
	verbosity: 1
remote-control:
	control-enable: no
EOF
		first=""
		for f in "$zdir"/*.zone; do
			z=$(basename "$f" .zone)
			[ "$z" = root ] && z=.
			[ -n "$first" ] || first=$z
			cp "$f" "$DNS_DIR/zones/"
			nsd-checkzone "$z" "$f" >/dev/null ||
			    fatal "zone $z does not load: $(nsd-checkzone "$z" "$f" 2>&1)"
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' \
			    "$z" "$(basename "$f")" >> "$DNS_DIR/nsd.conf"
		done
		nsd -d -c "$DNS_DIR/nsd.conf" >>"$DNS_DIR/nsd.out" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		if wait_for 10 "dig +time=1 +tries=1 -p $DNS_PORT @127.0.0.1 SOA $first 2>/dev/null | grep -q 'status: NOERROR' || ! kill -0 $pid 2>/dev/null" &&
		    kill -0 "$pid" 2>/dev/null; then
			DNS_PID=$pid
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	cat "$DNS_DIR/nsd.out" "$DNS_DIR/nsd.log" 2>/dev/null
	fatal "nsd did not start"
}

# stop_dns: ends the nsd start_dns started last.
stop_dns() {
	[ -n "${DNS_PID:-}" ] || return 0
	kill -TERM "$DNS_PID" 2>/dev/null
	wait_for 5 "! kill -0 $DNS_PID 2>/dev/null" || kill -KILL "$DNS_PID"
	wait "$DNS_PID" 2>/dev/null
	DNS_PID=""
}

# start_blackhole: a DNS "server" on 127.0.0.1 that reads every query and
# never answers (UDP and TCP): the resolver forwards timeout.test there,
# so lookups under it time out for real. BLACKHOLE_PORT.
start_blackhole() {
	BLACKHOLE_PORT=$(pick_port) || fatal "no port"
	"$PY" - "$BLACKHOLE_PORT" <<'EOF' >"$T/blackhole.log" 2>&1 &
import select, socket, sys
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(64)
held = []
while True:
    r, _, _ = select.select([u, t] + held, [], [])
    for s in r:
        if s is u:
            u.recvfrom(65535)
        elif s is t:
            held.append(t.accept()[0])
        else:
            if not s.recv(65535):
                held.remove(s)
                s.close()
EOF
	PIDS="$PIDS $!"
	wait_for 5 "[ -n \"\$(ss -Hlun '( sport = :$BLACKHOLE_PORT )')\" ]" ||
	    fatal "the black hole did not start"
	cat > "$T/unbound.conf" <<EOF
forward-zone:
	name: "timeout.test"
	forward-addr: 127.0.0.1@$BLACKHOLE_PORT
EOF
}

# dns_conf: the resolver keys that point mxguard at the test DNS server
# (DNS_TIMEOUT, DNS_UNBLOCK change two of them).
dns_conf() {
	[ -n "${DNS_PORT:-}" ] || return 0
	printf '%s\n' \
	    "dns_servers = 127.0.0.1@$DNS_PORT" \
	    "dns_unblock_zones = ${DNS_UNBLOCK:-test, 127.in-addr.arpa}" \
	    "dns_unbound_conf = $T/unbound.conf" \
	    "dns_timeout = ${DNS_TIMEOUT:-2s}"
}

# dig_test NAME TYPE: what the test server answers (for diagnostics).
dig_test() {
	dig +short -p "$DNS_PORT" @127.0.0.1 "$1" "$2"
}
