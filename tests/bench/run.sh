#!/bin/bash
# run.sh - mxguard's throughput, latency, CPU and memory benchmark.
#
#   tests/bench/run.sh [--rounds N] [--messages N] [--quick] [--mxguard PATH]
#                      [--label TEXT] [--no-postfix] [--keep] [--json FILE]
#
# On loopback, in a private temporary directory: one smtp-sink; mxguard in
# front of it (no filters, log_level = info, the default) and a second
# mxguard with log_level = warning; a private Postfix whose smtpd relays to
# the same sink with smtpd_proxy_filter (lockstep, never queues). smtp-source
# sends to each of them and to the sink directly, in interleaved rounds.
# bench.py does the measuring and prints the report; see README.md.
#
# Exit status: 0 when the benchmark ran (whatever the figures), 1 when it
# broke (an error reply, a lost message, a timeout), 2 on bad usage or
# when something could not be started.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

rounds=3
messages=10000
latency=200
latency_exec=40
warmup=1
mxguard=$top/mxguard
postfix=1
keep=0
json=
label=

usage() {
	sed -n '3,4p' "$0" | sed 's/^# *//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds)	rounds=$2; shift ;;
	--messages)	messages=$2; shift ;;
	--quick)	rounds=1 messages=2000 latency=50 latency_exec=5 ;;
	--mxguard)	mxguard=$2; shift ;;
	--label)	label=$2; shift ;;
	--no-postfix)	postfix=0 ;;
	--keep)		keep=1 ;;
	--json)		json=$2; shift ;;
	*)		usage ;;
	esac
	shift
done

for p in smtp-source smtp-sink python3; do
	command -v "$p" >/dev/null || { echo "run.sh: $p not found" >&2; exit 2; }
done
[ -x "$mxguard" ] || { echo "run.sh: no mxguard at $mxguard (make first)" >&2; exit 2; }
if [ "$(id -u)" != 0 ] && [ $postfix = 1 ]; then
	echo "run.sh: not root: Postfix cannot run privately; going on without it" >&2
	postfix=0
fi

tmp=$(mktemp -d /tmp/mxguard-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
pf_dir=

# Our children, killed by pid only while /proc says the pid is still the
# program we started (pids wrap around quickly on a small pid_max).
ours() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

cleanup() {
	local p
	set +e
	if [ -n "$pf_dir" ]; then
		pf_stop "$pf_dir"
		# older postfix.sh has no pf_forget_dir
		type pf_forget_dir >/dev/null 2>&1 && pf_forget_dir "$pf_dir"
	fi
	for p in "${pids[@]}"; do
		ours "${p%%=*}" "${p#*=}" && kill "${p%%=*}"
	done
	for p in "${pids[@]}"; do
		wait "${p%%=*}" 2>/dev/null
	done
	if [ $keep = 1 ]; then
		echo "run.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$top/tests/lib/postfix.sh"

read -r sink_port mx_port mxw_port pf_port < <(python3 "$here/bench.py" ports 4 | xargs)

# The sink: no -d (no dumping, keep it cheap), no -c (its counter writes
# would add to its CPU unevenly); a listen backlog of 1024.
if [ "$(id -u)" = 0 ]; then
	smtp-sink -u nobody -m 1000 "127.0.0.1:$sink_port" 1024 \
	    >"$tmp/sink.log" 2>&1 &
else
	smtp-sink -m 1000 "127.0.0.1:$sink_port" 1024 >"$tmp/sink.log" 2>&1 &
fi
sink_pid=$!
pids+=("$sink_pid=127.0.0.1:$sink_port")
python3 "$here/bench.py" wait "$sink_port" || exit 2

# Every benchmark session comes from 127.0.0.1: lift the per-address and
# per-network session limits (Postfix's are off in postfix.sh too), where
# this mxguard has them.
keys=$("$mxguard" -k 2>/dev/null || true)
limits=
for k in max_sessions_per_ip max_sessions_per_net; do
	case $keys in *"$k ="*) limits="$limits$k = 1000
" ;; esac
done

start_mxguard() {	# name port log_level
	cat >"$tmp/$1.conf" <<EOF
hostname = mx.bench.test
listen = 127.0.0.1:$2
relay_domains = example.test
backend = 127.0.0.1:$sink_port
spool_dir = $tmp
log_level = $3
filters =
$limits
EOF
	"$mxguard" -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	pids+=("$!=$tmp/$1.conf")
	eval "$1_pid=$!"
	python3 "$here/bench.py" wait "$2" || { cat "$tmp/$1.log" >&2; exit 2; }
}
start_mxguard mx "$mx_port" info
start_mxguard mxw "$mxw_port" warning

pf_args=()
if [ $postfix = 1 ]; then
	pf_dir=$tmp/pf
	# smtpd_proxy_filter: smtpd opens a connection to the sink at MAIL and
	# relays each command and the message in lockstep; nothing is queued.
	# default_process_limit = 200 (postfix.sh) lets 50 sessions in at once.
	pf_create "$pf_dir" "$pf_port" relay_domains=example.test \
	    "smtpd_proxy_filter=127.0.0.1:$sink_port"
	pf_start "$pf_dir" || exit 2
	python3 "$here/bench.py" wait "$pf_port" || exit 2
	pf_args=(--postfix "$pf_port:$pf_dir")
fi

if [ -z "$label" ]; then
	if [ "$mxguard" -ef "$top/mxguard" ]; then
		label="built from $(git -C "$top" describe --always --dirty \
		    2>/dev/null || echo '?') (if made since)"
	else
		label="not the tree's binary"
	fi
fi
commit="$("$mxguard" -V 2>/dev/null | head -1); $label"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
info=$(python3 -c 'import json,sys; print(json.dumps({"cpu": sys.argv[1],
    "mxguard": sys.argv[2], "commit": sys.argv[3]}))' "$cpu" "$mxguard" "$commit")

set +e
extra=()
[ $warmup = 1 ] || extra+=(--no-warmup)
[ -n "$json" ] && extra+=(--json "$json")
python3 "$here/bench.py" drive --sink "$sink_port:$sink_pid" \
    --mxguard "mxguard:mxguard:$mx_port:$mx_pid:$tmp/mx.log:1" \
    --mxguard "mxguard-warn:mxguard log=warning:$mxw_port:$mxw_pid:$tmp/mxw.log:0" \
    "${pf_args[@]}" --rounds "$rounds" --messages "$messages" \
    --latency "$latency" --latency-exec "$latency_exec" --info "$info" \
    "${extra[@]}"
rc=$?
set -e
for p in mx mxw; do
	eval "pid=\$${p}_pid"
	ours "$pid" "$tmp/$p.conf" || {
		echo "run.sh: mxguard ($p) is gone; last log lines:" >&2
		tail -20 "$tmp/$p.log" >&2
		rc=1
	}
done
exit $rc
