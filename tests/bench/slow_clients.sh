#!/bin/bash
# slow_clients.sh - good mail's throughput with and without 2,000 slow
# clients connected, and mxguard's RSS per idle session.
#
#   tests/bench/slow_clients.sh [--clients N] [--sessions N] [--messages N]
#       [--size BYTES] [--interval SECONDS] [--rounds N] [--idle N]
#       [--mxguard PATH] [--keep]
#
# On loopback, in a private temporary directory: smtp-sink (no -d), and
# mxguard in front of it (no filters, log_level = info, the defaults but
# for the session limits, lifted for the clients' addresses). Each round:
#   1. smtp-source -s SESSIONS -m MESSAGES -l SIZE alone;
#   2. CLIENTS slow clients connect (from 127.0.30-39.x, 20 per address),
#      say EHLO and then send "NOOP\r\n" one byte every INTERVAL seconds
#      each, reading their replies -- bounded: one socket each, loopback
#      only, ended at the end of the run -- and smtp-source runs again.
# Then IDLE connections (greeted, silent; 0 skips) are opened with
# tests/e2e/hostile.py and mxguard's VmRSS is read before and with them.
# Every smtp-source run must exit 0 with nothing on stderr and mxguard's
# txn_accepted must grow by exactly MESSAGES; otherwise the exit status is
# 1 and the figures are marked BROKEN. Defaults: 2000 clients, -s 50,
# -m 5000, -l 2048, 1 s, 1 round, 10000 idle. A report, not a test.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
clients=2000 sessions=50 messages=5000 size=2048 interval=1 rounds=1
idle=10000 mxguard=$top/mxguard keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--clients) clients=$2; shift ;;
	--sessions) sessions=$2; shift ;;
	--messages) messages=$2; shift ;;
	--size) size=$2; shift ;;
	--interval) interval=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--idle) idle=$2; shift ;;
	--mxguard) mxguard=$2; shift ;;
	--keep) keep=1 ;;
	*) sed -n '3,6p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
	esac
	shift
done
for p in smtp-source smtp-sink python3; do
	command -v "$p" >/dev/null || { echo "slow_clients.sh: $p not found" >&2; exit 2; }
done
[ -x "$mxguard" ] || { echo "slow_clients.sh: no mxguard at $mxguard" >&2; exit 2; }
need=$(( (clients > idle ? clients : idle) + 600 ))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
	echo "slow_clients.sh: descriptor limit $hard < $need" >&2
	exit 2
fi
ulimit -n "$hard" 2>/dev/null

PY="python3 $here/slow_clients.py"
tmp=$(mktemp -d /tmp/mxguard-slowbench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
	local p
	touch "$tmp/stop" "$tmp/idle.release" 2>/dev/null
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ $keep = 1 ]; then
		echo "slow_clients.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r sink_port mx_port < <($PY ports 2 | xargs)
if [ "$(id -u)" = 0 ]; then
	smtp-sink -u nobody "127.0.0.1:$sink_port" 1024 >"$tmp/sink.log" 2>&1 &
else
	smtp-sink "127.0.0.1:$sink_port" 1024 >"$tmp/sink.log" 2>&1 &
fi
pids+=($!)
$PY wait "$sink_port" || { echo "smtp-sink did not start" >&2; exit 2; }

cat >"$tmp/mx.conf" <<EOF
hostname = mx.bench.test
listen = 127.0.0.1:$mx_port
relay_domains = example.test
backend = 127.0.0.1:$sink_port
spool_dir = $tmp
log_level = info
filters =
listen_backlog = 4096
max_sessions = $((clients + idle + 1000))
max_sessions_per_ip = 1000
max_sessions_per_net = 20000
EOF
"$mxguard" -c "$tmp/mx.conf" >"$tmp/mx.log" 2>&1 &
mx_pid=$!
pids+=($mx_pid)
$PY wait "$mx_port" || { echo "mxguard did not start:" >&2; cat "$tmp/mx.log" >&2; exit 2; }

broken=0
# run NAME: one smtp-source run; checks it and mxguard's counters
run() {
	local name=$1 before after acc
	before=$($PY stats "$mx_pid" "$tmp/mx.log")
	$PY source "$mx_port" "$sessions" "$messages" "$size" >"$tmp/$name.json"
	local rc=$?
	after=$($PY stats "$mx_pid" "$tmp/mx.log")
	acc=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(b.get("txn_accepted",0)-a.get("txn_accepted",0))' "$before" "$after")
	if [ $rc != 0 ] || [ "$acc" != "$messages" ]; then
		echo "BROKEN: $name: smtp-source rc=$rc, txn_accepted +$acc (want $messages): $(cat "$tmp/$name.json")" >&2
		broken=1
	fi
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["msgs_per_s"])' "$tmp/$name.json"
}

echo "slow-client benchmark: mxguard $("$mxguard" -V 2>/dev/null | head -1), $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "  good mail: smtp-source -s $sessions -m $messages -l $size -> mxguard -> smtp-sink (loopback)"
echo "  slow clients: $clients, each one byte of \"NOOP\\r\\n\" every ${interval} s"
# a warm-up run, not counted
$PY source "$mx_port" "$sessions" $((messages / 2 + 1)) "$size" >/dev/null

alone=() with=() rss_slow=()
for r in $(seq 1 "$rounds"); do
	alone+=("$(run "alone.$r")")
	rm -f "$tmp/ready" "$tmp/stop"
	$PY slow "$mx_port" "$clients" --interval "$interval" --ready "$tmp/ready" \
	    --stop "$tmp/stop" --max 900 >"$tmp/slow.$r.json" 2>&1 &
	slow_pid=$!
	pids+=($slow_pid)
	for i in $(seq 1 1200); do
		[ -f "$tmp/ready" ] && break
		sleep 0.05
	done
	sleep "$interval"	# every slow client is dribbling by now
	sess=$($PY stats "$mx_pid" "$tmp/mx.log" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sessions", 0))')
	rss_slow+=("$($PY rss "$mx_pid")")
	with+=("$(run "with.$r")")
	touch "$tmp/stop"
	wait "$slow_pid"
	echo "  round $r: alone ${alone[-1]} msgs/s; with $sess sessions open (slow clients: $(cat "$tmp/slow.$r.json")) ${with[-1]} msgs/s; mxguard VmRSS ${rss_slow[-1]} KB"
	for i in $(seq 1 200); do
		s=$($PY stats "$mx_pid" "$tmp/mx.log" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sessions", 0))')
		[ "$s" = 0 ] && break
		sleep 0.1
	done
done

med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ma=$(med "${alone[@]}")
mw=$(med "${with[@]}")
echo
echo "RESULT good mail alone:              $ma msgs/s (runs: ${alone[*]})"
echo "RESULT good mail with $clients slow clients: $mw msgs/s (runs: ${with[*]})"
echo "RESULT ratio with/alone:             $(echo "scale=3; $mw / $ma" | bc)"
echo "RESULT mxguard VmRSS with $clients slow clients: $(med "${rss_slow[@]}") KB"

if [ "$idle" -gt 0 ]; then
	rss0=$($PY rss "$mx_pid")
	nsrc=$(( (idle + 19) / 20 ))	# 20 connections per address
	[ "$nsrc" -gt 500 ] && { echo "--idle: at most 10000" >&2; exit 2; }
	srcs="127.0.40.1-127.0.40.$((nsrc > 250 ? 250 : nsrc))"
	[ "$nsrc" -gt 250 ] && srcs="$srcs,127.0.41.1-127.0.41.$((nsrc - 250))"
	python3 "$top/tests/e2e/hostile.py" conns --sources "$srcs" --per-source 20 \
	    --ready "$tmp/idle.ready" --release "$tmp/idle.release" --max 120 \
	    127.0.0.1 "$mx_port" >"$tmp/idle.out" 2>&1 &
	ipid=$!
	pids+=($ipid)
	for i in $(seq 1 3000); do
		[ -f "$tmp/idle.ready" ] && break
		sleep 0.05
	done
	greeted=$(sed -n 's/^RESULT .*greeted=\([0-9]*\).*/\1/p' "$tmp/idle.out")
	sleep 1
	rss1=$($PY rss "$mx_pid")
	touch "$tmp/idle.release"
	wait "$ipid"
	echo "RESULT idle sessions: $greeted held; mxguard VmRSS $rss0 KB -> $rss1 KB: $(( (rss1 - rss0) * 1024 / (greeted > 0 ? greeted : 1) )) bytes per idle session"
fi
kill -0 "$mx_pid" 2>/dev/null || { echo "BROKEN: mxguard is gone" >&2; tail "$tmp/mx.log" >&2; broken=1; }
[ $broken = 0 ] || echo "BENCHMARK BROKE (see above)"
exit $broken
