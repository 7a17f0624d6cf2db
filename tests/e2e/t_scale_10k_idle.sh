#!/bin/sh
# t_scale_10k_idle: 10,000 concurrent idle client connections (greeted,
# then silent; 500 source addresses 127.0.10-14.x, 20 each) are all held,
# mxguard's VmRSS stays under 100 MB with them (the figure per idle session
# is printed), and meanwhile a well-behaved client's mail still flows:
# timed messages (latency printed; each must get 250, within a generous
# 10 s), a swaks message and an smtp-source run of 200 messages, all
# delivered. When the idle clients go, every session is released. The RSS
# bound is not checked under AddressSanitizer (its shadow memory).
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

N=10000
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge $((N + 500)) ] ||
    skip "the descriptor limit ($hard) is below $((N + 500))"
command -v smtp-source >/dev/null 2>&1 || skip "smtp-source not installed"

start_sink
start_mxguard plain.conf max_sessions=12000 max_sessions_per_ip=50 \
    max_sessions_per_net=5000 timeout_greeting=300s timeout_command=300s \
    listen_backlog=4096
expect_log 'descriptor limit'
grep 'descriptor limit' "$MXG_LOG" | sed 's/^/    /'

hostile send --count 20 --tag before >"$T/before.out" 2>&1 ||
    fail "messages before the idle flood did not all get 250"
lat0=$(result p50_ms "$T/before.out")
rss0=$(rss_kb)

t0=$(date +%s)
conns_bg idle --sources 127.0.10.1-127.0.10.100,127.0.11.1-127.0.11.100,127.0.12.1-127.0.12.100,127.0.13.1-127.0.13.100,127.0.14.1-127.0.14.100 \
    --per-source 20 --max 120
wait_conns idle 150
greeted=$(result greeted "$T/idle.out")
[ "$greeted" = "$N" ] && ok "$N idle sessions greeted in $(($(date +%s) - t0)) s" ||
    fail "only $greeted of $N idle connections greeted"
mxguard_stats
note "mxguard: sessions=$(counter sessions) accepted=$(counter conn_accepted)"
[ "$(counter sessions)" -ge "$N" ] && ok "mxguard holds $(counter sessions) sessions" ||
    fail "mxguard holds $(counter sessions) sessions, want $N"
rss1=$(rss_kb)
per=$(( (rss1 - rss0) * 1024 / N ))
note "VmRSS: ${rss0} KB before, ${rss1} KB with $N idle sessions; $per bytes per idle session"
echo "FIGURE rss_kb_before=$rss0 rss_kb_idle=$rss1 sessions=$N bytes_per_session=$per"
if sanitized; then
	note "AddressSanitizer build: the 100 MB bound is not checked"
elif [ "$rss1" -lt $((100 * 1024)) ]; then
	ok "VmRSS ${rss1} KB < 100 MB with $N idle sessions"
else
	fail "VmRSS ${rss1} KB >= 100 MB with $N idle sessions"
fi

# mail meanwhile
hostile send --count 20 --tag during >"$T/during.out" 2>&1 ||
    fail "messages during the idle flood did not all get 250"
sed 's/^/    /' "$T/during.out" | tail -n 3
maxms=$(result max_ms "$T/during.out")
lat1=$(result p50_ms "$T/during.out")
echo "FIGURE latency_ms_p50_before=$lat0 latency_ms_p50_during=$lat1 latency_ms_max_during=$maxms"
[ "${maxms%.*}" -lt 10000 ] && ok "each message within 10 s (max ${maxms} ms, p50 ${lat1} ms; ${lat0} ms before)" ||
    fail "a message took ${maxms} ms during the idle flood"
good_mail during-10k
smtp-source -s 5 -m 200 -l 2048 -f source@client.example.net \
    -t good@example.test "127.0.0.1:$MXG_PORT" >"$T/source.out" 2>&1 &&
    [ ! -s "$T/source.out" ] && ok "smtp-source: 200 messages accepted" ||
    { fail "smtp-source failed:"; head -5 "$T/source.out"; }
wait_sink_count $((20 + 20 + 1 + 200)) 30

release_conns idle
wait_sessions 0 60
good_mail after-10k
finish
