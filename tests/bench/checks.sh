#!/bin/bash
# checks.sh - throughput with every message checked (issue 5, item 9):
#
#   bash tests/bench/checks.sh [--rounds N] [--messages N] [--sessions N]
#                              [--size BYTES] [--mxguard PATH] [--keep]
#
# On loopback, in a private directory: nsd serving the benchmark zones
# (tests/bench/zones: an SPF sender with an include, an SPF HELO name,
# three DNSBLs) on 127.0.53.53:53, one smtp-sink, and three targets that
# relay in lockstep to it:
#   passthrough  mxguard, no filters
#   checks       mxguard, filters = dnsbl, spf: three DNSBL zones and SPF
#                (HELO and MAIL FROM identities); its resolver caches, so
#                every lookup after the first is a cache hit
#   postfix      a private Postfix smtpd with reject_rbl_client x3 and
#                check_policy_service to postfix-policyd-spf-python (HELO
#                and MAIL FROM), relaying with smtpd_proxy_filter (before
#                queue, lockstep, like mxguard); its resolv.conf (bind-
#                mounted in a private mount namespace) points at the same
#                nsd, which answers from memory
# smtp-source sends the same load (--sessions parallel sessions, --messages
# messages of --size bytes) to each target in interleaved rounds; the
# figure is messages per second (median of the rounds). Every run must
# deliver every message; the checks must be seen to run (counters, logs).
# Needs root (Postfix, port 53, the mount namespace). Exit: 0 when the
# benchmark ran, 1 when a run broke, 2 when something could not start.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rounds=3
messages=2000
sessions=20
size=2048
mxguard=$top/mxguard
keep=0
DNS_ADDR=127.0.53.53

while [ $# -gt 0 ]; do
	case $1 in
	--rounds)	rounds=$2; shift ;;
	--messages)	messages=$2; shift ;;
	--sessions)	sessions=$2; shift ;;
	--size)		size=$2; shift ;;
	--mxguard)	mxguard=$2; shift ;;
	--keep)		keep=1 ;;
	*)		sed -n '3,4p' "$0" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "checks.sh: needs root" >&2; exit 2; }
for p in smtp-source smtp-sink nsd postfix unshare /usr/bin/policyd-spf; do
	command -v "$p" >/dev/null || { echo "checks.sh: $p not found" >&2; exit 2; }
done
[ -x "$mxguard" ] || { echo "checks.sh: no mxguard at $mxguard" >&2; exit 2; }

tmp=$(mktemp -d /tmp/mxguard-checks.XXXXXX)
chmod 755 "$tmp"
pids=""
pf_dir=

cleanup() {
	local p
	set +e
	if [ -n "$pf_dir" ]; then
		postfix -c "$pf_dir/etc" stop >/dev/null 2>&1
		for p in $(seq 1 50); do
			[ -f "$pf_dir/spool/pid/master.pid" ] || break
			sleep 0.1
		done
	fi
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ $keep = 1 ]; then echo "checks.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$top/tests/lib/postfix.sh"

port() {	# a free TCP port on loopback
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {	# HOST PORT
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "checks.sh: nothing listens on $1:$2" >&2
	return 1
}

# ---- DNS -------------------------------------------------------------------
mkdir -p "$tmp/nsd/zones"
cat > "$tmp/nsd/nsd.conf" <<EOF
server:
	port: 53
	ip-address: $DNS_ADDR
	zonesdir: "$tmp/nsd/zones"
	pidfile: "$tmp/nsd/nsd.pid"
	xfrdfile: "$tmp/nsd/xfrd.state"
	zonelistfile: "$tmp/nsd/zone.list"
	username: ""
	chroot: ""
	database: ""
	logfile: "$tmp/nsd/nsd.log"
	server-count: 2
	# no response rate limiting: the benchmark asks the same names fast
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	verbosity: 0
remote-control:
	control-enable: no
EOF
for f in "$here"/zones/*.zone; do
	z=$(basename "$f" .zone)
	cp "$f" "$tmp/nsd/zones/"
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' "$z" "$z" \
	    >> "$tmp/nsd/nsd.conf"
done
nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/out" 2>&1 &
pids="$pids $!"
for i in $(seq 1 100); do
	dig +time=1 +tries=1 @"$DNS_ADDR" SOA bench.test 2>/dev/null |
	    grep -q 'status: NOERROR' && break
	[ "$i" = 100 ] && { cat "$tmp/nsd/out"; echo "checks.sh: nsd did not start" >&2; exit 2; }
	sleep 0.1
done
printf 'nameserver %s\noptions attempts:2 timeout:2\n' "$DNS_ADDR" > "$tmp/resolv.conf"

# ---- the sink and mxguard ------------------------------------------------------
sink_port=$(port)
smtp-sink -u nobody -m 1000 "127.0.0.1:$sink_port" 1024 >"$tmp/sink.log" 2>&1 &
pids="$pids $!"
wait_port 127.0.0.1 "$sink_port" || exit 2

start_mxguard() {	# NAME PORT FILTER-LINES
	cat > "$tmp/$1.conf" <<EOF
hostname = mx.bench.test
listen = 127.0.0.1:$2
relay_domains = example.org
backend = 127.0.0.1:$sink_port
spool_dir = $tmp
max_sessions = 2000
# every benchmark session comes from 127.0.0.1
max_sessions_per_ip = 1000
max_sessions_per_net = 1000
dns_servers = $DNS_ADDR
dns_unblock_zones = test
$3
EOF
	"$mxguard" -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	pids="$pids $!"
	eval "$1_pid=$!"
	wait_port 127.0.0.1 "$2" || { cat "$tmp/$1.log" >&2; exit 2; }
}
pass_port=$(port)
start_mxguard passthrough "$pass_port" "filters ="
checks_port=$(port)
start_mxguard checks "$checks_port" "filters = dnsbl, spf
[dnsbl]
sites = bl1.test, bl2.test, bl3.test
[spf]
receiver = mx.bench.test"

# ---- Postfix with the same checks -------------------------------------------------
pf_dir=$tmp/pf
pf_port=$(port)
cat > "$tmp/policyd-spf.conf" <<EOF
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = True
skip_addresses = 192.0.2.255/32
EOF
pf_create "$pf_dir" "$pf_port" relay_domains=example.org \
    "smtpd_proxy_filter = 127.0.0.1:$sink_port" \
    "smtpd_recipient_restrictions = reject_rbl_client bl1.test, reject_rbl_client bl2.test, reject_rbl_client bl3.test, check_policy_service unix:private/policyd-spf" \
    "policyd-spf_time_limit = 3600" \
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
pf_master "$pf_dir" "policyd-spf unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd-spf $tmp/policyd-spf.conf"
postfix -c "$pf_dir/etc" check >"$tmp/pf-check.log" 2>&1 || { cat "$tmp/pf-check.log"; exit 2; }
# its stub resolver (smtpd, policyd-spf) reads /etc/resolv.conf: give it
# ours in a mount namespace of its own, the machine's stays untouched
unshare -m sh -c "mount --bind '$tmp/resolv.conf' /etc/resolv.conf &&
    exec postfix -c '$pf_dir/etc' start" >"$tmp/pf-start.log" 2>&1 ||
    { cat "$tmp/pf-start.log"; exit 2; }
wait_port 127.0.0.1 "$pf_port" || exit 2

# ---- runs ---------------------------------------------------------------------------
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }

run() {	# PORT -> "seconds" ; fails on any error
	local t0 t1 rc=0
	t0=$(date +%s%N)
	smtp-source -s "$sessions" -m "$messages" -l "$size" -M mail.bench.test \
	    -f bench@spf.bench.test -t user@example.org "127.0.0.1:$1" \
	    >"$tmp/source.out" 2>&1 || rc=$?
	t1=$(date +%s%N)
	if [ $rc != 0 ] || [ -s "$tmp/source.out" ]; then
		echo "checks.sh: smtp-source to port $1 failed (rc $rc):" >&2
		head -n 5 "$tmp/source.out" >&2
		return 1
	fi
	echo "$(( (t1 - t0) / 1000000 ))"
}

echo "# warm-up (fills mxguard's DNS cache and Postfix's policy processes)"
for p in "$pass_port" "$checks_port" "$pf_port"; do
	smtp-source -s 5 -m 50 -l "$size" -M mail.bench.test -f bench@spf.bench.test \
	    -t user@example.org "127.0.0.1:$p" >"$tmp/warm.out" 2>&1 ||
	    { cat "$tmp/warm.out"; exit 1; }
done
declare -A ms
for r in $(seq 1 "$rounds"); do
	for name in passthrough checks postfix; do
		case $name in
		passthrough) p=$pass_port ;;
		checks) p=$checks_port ;;
		postfix) p=$pf_port ;;
		esac
		m=$(run "$p") || exit 1
		ms[$name]="${ms[$name]:-} $m"
		printf '# round %d %-12s %6d ms  %7.0f msg/s\n' "$r" "$name" "$m" \
		    "$(calc "$messages * 1000 / $m")"
	done
done

median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# the checks must have run: counters and logs
kill -USR1 "$checks_pid"
sleep 0.5
stats=$(grep ' stats ' "$tmp/checks.log" | tail -n 1)
get() { printf '%s\n' "$stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
total=$(( (rounds * messages) + 50 ))
echo "# mxguard checks: spf_pass=$(get spf_pass) dns_queries=$(get dns_queries) dns_cache_hit=$(get dns_cache_hit) dns_nxdomain=$(get dns_nxdomain) filter_dnsbl_continue=$(get filter_dnsbl_continue) txn_accepted=$(get txn_accepted)"
[ "$(get spf_pass)" -ge $((2 * total)) ] || { echo "checks.sh: SPF did not run on every message" >&2; exit 1; }
[ "$(get filter_dnsbl_continue)" -ge "$total" ] || { echo "checks.sh: DNSBL did not run on every session" >&2; exit 1; }
# ... on every target that checks: an SPF fail and a listed client refused
for t in "checks:$checks_port" "postfix:$pf_port"; do
	p=${t#*:}
	swaks --server 127.0.0.1 --port "$p" --helo mail.bench.test \
	    --from x@fail.bench.test --to user@example.org >"$tmp/v1" 2>&1 || true
	swaks --server 127.0.0.1 --port "$p" --helo mail.bench.test \
	    --local-interface 127.0.0.2 --from bench@spf.bench.test \
	    --to user@example.org >"$tmp/v2" 2>&1 || true
	if grep -q '^<\*\* *5[0-9][0-9] .*SPF' "$tmp/v1" &&
	    grep -q '^<\*\* *5[0-9][0-9] .*\(blocked\|bl[123]\.test\)' "$tmp/v2"; then
		echo "# ${t%%:*}: refuses an SPF fail and a DNSBL-listed client"
	else
		echo "checks.sh: ${t%%:*} does not apply the checks:" >&2
		grep '^<\*\*' "$tmp/v1" "$tmp/v2" >&2
		exit 1
	fi
done

mp=$(median "${ms[passthrough]}")
mc=$(median "${ms[checks]}")
mf=$(median "${ms[postfix]}")
rate() { calc "$messages * 1000 / $1"; }
echo
echo "checks benchmark: $sessions sessions x $messages messages of $size bytes per run, median of $rounds rounds"
printf '  %-36s %8.0f msg/s\n' "mxguard pass-through" "$(rate "$mp")"
printf '  %-36s %8.0f msg/s  (%.2fx pass-through)\n' "mxguard SPF + 3 DNSBL (cached)" "$(rate "$mc")" "$(calc "$mp / $mc")"
printf '  %-36s %8.0f msg/s  (mxguard checks %.2fx Postfix)\n' "Postfix rbl x3 + policyd-spf" "$(rate "$mf")" "$(calc "$mf / $mc")"
