#!/bin/bash
# rcpt.sh - the recipient-validation figures (issue 6, item 9), in one run
# on this machine, with the same client for every target:
#
#  0. the cost of one LMDB store operation on the loop thread;
#  1. a dictionary attack of N RCPTs (default 10,000) in one session and
#     across 100 sessions against mxguard doing callouts to a real Postfix
#     primary: how many callouts reach the primary (bounded by the cap and
#     the cache), the replies (550 answered, 451 over the cap), the rate,
#     mxguard's memory; then the same addresses again (a warm cache); then
#     the same attack with the default harvest protection on;
#  2. the RCPT-stage rejection rate for unknown recipients at 50 sessions:
#     mxguard with a static map, mxguard with a warm callout cache, and
#     Postfix with relay_recipient_maps (texthash, the same 10,000 users),
#     plus the client's own ceiling against smtp-sink (accepts all).
#
# Usage (root, after make): bash tests/bench/rcpt.sh [N]
#   MXGUARD=path (default ./mxguard), BENCH_KEEP=1 keeps the directory.
# The harness is tests/e2e/rcptlib.sh; the client tests/e2e/rcpt_smtp.py
# (Python threads: its own ceiling is measured and printed).
set -u
N=${1:-10000}
here=$(cd "$(dirname "$0")" && pwd)
export SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
export MXGUARD=${MXGUARD:-$SRCDIR/mxguard}
E2E_KEEP=${BENCH_KEEP:-0}
. "$SRCDIR/tests/e2e/rcptlib.sh"

REPORT=$T/report
out() { printf '%s\n' "$*" | tee -a "$REPORT"; }
attack() {	# attack PORT SESSIONS RCPTS SEED [more options]
	local port=$1 s=$2 n=$3 seed=$4
	shift 4
	"$PY" "$CLIENT" attack "$port" --sessions "$s" --rcpts "$n" \
	    --seed "$seed" --timeout 120 "$@"
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# CPU time of a process in ms (utime + stime)
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
# RCPT commands the primary Postfix has seen, from its "disconnect" lines
# ("rcpt=accepted/total"; "rcpt=N" when all were accepted).
primary_rcpts() {
	sed -n 's/.*disconnect from .* rcpt=\([0-9/]*\).*/\1/p' \
	    "$(pf_log "$PRIMARY_DIR")" | awk -F/ '{ t += ($2 == "" ? $1 : $2) }
	    END { print t + 0 }'
}

out "# mxguard recipient-validation benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
out "# $(nproc) CPUs, $(uname -r); N=$N RCPTs per attack"

# ---- 0. LMDB on the loop ------------------------------------------------------
builddir=$(dirname "$MXGUARD")
if [ -f "$builddir/libmxguard.a" ]; then
	cc -O2 -I"$SRCDIR/proxy" -I"$builddir" "$SRCDIR/tests/bench/store_bench.c" \
	    "$builddir/libmxguard.a" $(pkg-config --libs lmdb hiredis libevent \
	    libevent_openssl libevent_pthreads libssl libcrypto) -lpthread \
	    -o "$T/store_bench" 2>"$T/cc.log" || cat "$T/cc.log"
	mkdir -p "$T/lmdb"
	out ""
	out "## 0. LMDB store operations (MDB_NOSYNC, on one thread, 100,000 keys)"
	"$T/store_bench" "$T/lmdb" 100000 | tee -a "$REPORT"
fi

# ---- setup --------------------------------------------------------------------
start_primary
start_sink
users=$T/users.list
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "user%05d@other.test\n", i }' > "$users"
awk '{ print $0 "\tOK" }' "$users" > "$T/relay_recipients"
mkdir -p "$T/s_att" "$T/s_def" "$T/s_map"
common="max_sessions_per_ip = 1000
max_sessions_per_net = 1000
max_sessions = 5000
max_commands = 1000000
max_errors = 10000
soft_error_limit = 9999
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 5s
callout_idle_timeout = 1s"
# harvest protection off: the point is the rejection machinery's rate
mxg_conf att <<EOF
$common
store = lmdb:$T/s_att
filters = rcpt
[rcpt]
callout_domains = example.test
harvest_tarpit_after = 0
harvest_disconnect_after = 0
harvest_ip_limit = 0
EOF
mxg_conf def <<EOF
$common
store = lmdb:$T/s_def
filters = rcpt
[rcpt]
callout_domains = example.test
EOF
mxg_conf map <<EOF
$common
store = lmdb:$T/s_map
filters = rcpt
[rcpt]
maps = list:$users
map_domains = other.test
harvest_tarpit_after = 0
harvest_disconnect_after = 0
harvest_ip_limit = 0
EOF
for n in att def map; do
	start_mxguard $n "$T/$n.conf"
done
wait_log att 'primary .* is up'

# ---- 1. dictionary attack vs callouts -------------------------------------------
out ""
out "## 1. dictionary attack, callouts to a real Postfix primary"
out "##    (callout_max_connections = 4, callout_max_queue = 100; harvest off)"
out "| run | sessions | RCPTs | 550 | 451 | closed | RCPTs at the primary | callouts (mxguard) | rejected/s | mxguard RSS |"
out "|---|---|---|---|---|---|---|---|---|---|"
row() {	# row LABEL SESSIONS SEED NAME
	local label=$1 s=$2 seed=$3 name=$4 before after c0 c1 r pid
	eval "pid=\$MXG_PID_$name"
	eval "port=\$MXG_PORT_$name"
	before=$(primary_rcpts)
	c0=$(counter "$name" callout_started)
	r=$(attack "$port" "$s" "$N" "$seed")
	# the primary logs a connection's RCPTs when it closes: wait for the
	# callout connections to go idle and close (callout_idle_timeout)
	wait_for 60 "[ \"\$(counter $name callout_conns)\" = 0 ]" >/dev/null
	sleep 1		# postlogd writes the last lines
	after=$(primary_rcpts)
	c1=$(counter "$name" callout_started)
	out "| $label | $s | $N | $(field "$r" 5xx) | $(field "$r" 4xx) | $(field "$r" closed) | $((after - before)) | $((c1 - c0)) | $(field "$r" rate | tr -d '/s') | $(rss_kb "$pid") kB |"
	echo "#   $r"
}
row "1 session, new addresses" 1 11 att
row "100 sessions, new addresses" 100 12 att
row "100 sessions, the same addresses again" 100 12 att
row "1 session, the same addresses again" 1 11 att
out ""
out "## 1b. the same attacks with the default harvest protection"
out "##    (tarpit after 3 unknown, disconnect after 10, 50 unknown per client an hour)"
out "| run | sessions | RCPTs | 550 | 451 | closed | RCPTs at the primary | callouts (mxguard) | rejected/s | mxguard RSS |"
out "|---|---|---|---|---|---|---|---|---|---|"
row "1 session, harvest protection on" 1 21 def
row "100 sessions, harvest protection on" 100 22 def

# ---- 1c. a primary far away: the cap and the queue at work -----------------------
out ""
out "## 1c. the same attack against a primary that takes 20 ms a reply"
out "##    (tests/e2e/fake_primary.py, counting what reaches it; harvest off)"
SAVED_PRIMARY=$PRIMARY_PORT
start_fake_primary --delay 20
mkdir -p "$T/s_slow"
mxg_conf slow <<EOF
$(printf '%s\n' "$common" | sed "s/^primary = .*/primary = 127.0.0.1:$PRIMARY_PORT/")
store = lmdb:$T/s_slow
filters = rcpt
[rcpt]
callout_domains = example.test
catchall_detect = no
harvest_tarpit_after = 0
harvest_disconnect_after = 0
harvest_ip_limit = 0
EOF
start_mxguard slow "$T/slow.conf"
wait_log slow 'primary .* is up'
out "| run | sessions | RCPTs | 550 | 451 | RCPTs at the primary | most connections at once | rejected/s |"
out "|---|---|---|---|---|---|---|---|"
# one session waits 20 ms a callout: a tenth of N is enough to see it
for spec in "1 51 $((N / 10))" "100 52 $N" "100 52 $N"; do
	set -- $spec
	b=$(fake_stat rcpts)
	r=$(attack "$MXG_PORT_slow" "$1" "$3" "$2")
	out "| $1 session(s), seed $2 | $1 | $3 | $(field "$r" 5xx) | $(field "$r" 4xx) | $(( $(fake_stat rcpts) - b )) | $(fake_stat max_conns) | $(field "$r" rate | tr -d '/s') |"
	echo "#   $r"
done
PRIMARY_PORT=$SAVED_PRIMARY

# ---- 2. rejection rate at 50 sessions ----------------------------------------------
out ""
out "## 2. RCPT-stage rejection of unknown recipients, 50 sessions, $N RCPTs"
PF2_DIR=$T/pfrr
PF2_PORT=$(pick_port)
_pf_create_locked "$PF2_DIR" "$PF2_PORT" \
    "relay_domains = other.test" \
    "relay_recipient_maps = texthash:$T/relay_recipients" \
    "smtpd_error_sleep_time = 0" "smtpd_soft_error_limit = 1000000" \
    "smtpd_hard_error_limit = 1000000" "smtpd_junk_command_limit = 1000000" \
    "default_process_limit = 200" "myhostname = pfrr.example.test"
PF_DIRS="$PF_DIRS $PF2_DIR"
_pf_start_retry "$PF2_DIR" || fatal "cannot start the relay_recipient_maps Postfix"
out "| target | 550 | 451 | other | seconds | recipients/s | mxguard CPU per RCPT |"
out "|---|---|---|---|---|---|---|"
tab() {	# tab LABEL PORT SEED PID|- [options]
	local label=$1 port=$2 seed=$3 pid=$4 r c0=0 c1=0 cpu="-"
	shift 4
	[ "$pid" != - ] && c0=$(cpu_ms "$pid")
	r=$(attack "$port" 50 "$N" "$seed" "$@")
	if [ "$pid" != - ]; then
		c1=$(cpu_ms "$pid")
		cpu="$(( (c1 - c0) * 1000 / N )) us ($(( N * 1000 / (c1 - c0 + 1) ))/s a core)"
	fi
	out "| $label | $(field "$r" 5xx) | $(field "$r" 4xx) | $(( $(field "$r" replies) - $(field "$r" 5xx) - $(field "$r" 4xx) )) | $(field "$r" seconds) | $(field "$r" rate | tr -d '/s') | $cpu |"
	echo "#   $r"
}
# warm the cache first: 4 sessions (the callout cap), every address cached
attack "$MXG_PORT_att" 4 "$N" 31 > "$T/warm.out"
echo "#   warming: $(cat "$T/warm.out")"
tab "client ceiling: smtp-sink (accepts all)" "$SINK_PORT" 41 - --domain other.test
tab "mxguard, static map (list, 10,000 users)" "$MXG_PORT_map" 42 "$MXG_PID_map" --domain other.test
tab "mxguard, warm callout cache (LMDB)" "$MXG_PORT_att" 31 "$MXG_PID_att"
tab "Postfix 3.7, relay_recipient_maps (texthash), error sleep off" "$PF2_PORT" 43 - --domain other.test
out ""
out "mxguard RSS after all runs: att $(rss_kb "$MXG_PID_att") kB, def $(rss_kb "$MXG_PID_def") kB, map $(rss_kb "$MXG_PID_map") kB"
for n in att def map; do
	eval "log=\$MXG_LOG_$n"
	kill -USR1 "$(eval echo \$MXG_PID_$n)"
done
sleep 1
for n in att def; do
	eval "log=\$MXG_LOG_$n"
	out "$n: $(grep ' stats ' "$log" | tail -n 1 | tr ' ' '\n' | grep -E '^(callout_|rcpt_cache|harvest_|store_error)' | tr '\n' ' ')"
done
echo
cp "$REPORT" "${BENCH_REPORT:-/tmp/mxguard-rcpt-bench.md}"
echo "# report: ${BENCH_REPORT:-/tmp/mxguard-rcpt-bench.md}"
finish
