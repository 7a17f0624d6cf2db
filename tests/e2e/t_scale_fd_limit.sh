#!/bin/sh
# t_scale_fd_limit: mxguard raises its descriptor limit to the hard limit
# at start and logs it ("descriptor limit raised from 256 to N"). Started
# with a hard limit of 64 it logs "descriptor limit 64"; 100 clients
# connecting at once then exhaust it: mxguard does not crash, logs
# "accept: ...; pausing accept" (counter conn_accept_error > 0) and keeps
# serving the sessions it has; the clients beyond the limit wait in the
# listen queue (or give up). When the flood is gone, a normal message goes
# through again.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
# mxguard under "ulimit -n 64" (the same pid: exec)
cat > "$T/mxguard-64" <<EOF2
#!/bin/sh
ulimit -n 64 || exit 99
exec "$MXGUARD" "\$@"
EOF2
chmod +x "$T/mxguard-64"
REAL_MXGUARD=$MXGUARD
MXGUARD=$T/mxguard-64
start_mxguard plain.conf max_sessions_per_ip=1000 max_sessions_per_net=1000 \
    timeout_greeting=60s
MXGUARD=$REAL_MXGUARD
expect_log 'descriptor limit 64$'

conns_bg flood --sources 127.0.0.1 --per-source 100 --inflight 100 --max 8
wait_conns flood 30
greeted=$(result greeted "$T/flood.out")
[ "$greeted" -ge 20 ] && [ "$greeted" -lt 100 ] &&
    ok "$greeted of 100 greeted; the rest wait or gave up" ||
    fail "$greeted of 100 greeted with 64 descriptors (want 20..99)"
kill -0 "$MXG_PID" 2>/dev/null && ok "mxguard still running" ||
    fatal "mxguard died at the descriptor limit"
expect_log 'accept: .*; pausing accept for [0-9]+ ms'
expect_counter conn_accept_error -gt 0
grep -c 'pausing accept' "$MXG_LOG" | sed 's/^/    pausing lines: /'

release_conns flood
wait_sessions 0 30
kill -0 "$MXG_PID" 2>/dev/null && ok "mxguard still running" ||
    fatal "mxguard died after the flood"
wait_for 10 "mxguard_stats && [ \$(counter backend_up) = 1 ]" ||
    fail "the backend is not up again"
good_mail after-fd-flood
good_mail after-fd-flood-2

# a soft limit below the hard one is raised at start, and said so
stop_mxguard
hard=$(ulimit -Hn)
cat > "$T/mxguard-soft" <<EOF2
#!/bin/sh
ulimit -Sn 256 || exit 99
exec "$MXGUARD" "\$@"
EOF2
chmod +x "$T/mxguard-soft"
MXGUARD=$T/mxguard-soft
start_mxguard plain.conf
MXGUARD=$REAL_MXGUARD
if [ "$hard" = unlimited ]; then
	expect_log 'descriptor limit raised from 256 to '
else
	expect_log "descriptor limit raised from 256 to $hard\$"
fi
good_mail raised-limit
finish
