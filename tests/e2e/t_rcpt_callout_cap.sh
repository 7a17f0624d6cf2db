#!/bin/sh
# t_rcpt_callout_cap: a dictionary attack cannot turn mxguard into a flood
# against the primary. With a slow primary (300 ms a reply) that counts
# what reaches it: never more than callout_max_connections connections at
# once; callouts beyond them wait in a queue of callout_max_queue and the
# rest are tempfailed at once (451 4.3.0, never 250); the same address
# asked by many sessions at once is one callout; connections are reused
# and renewed after callout_max_rejects_per_connection 5xx answers.
. "$(dirname "$0")/rcptlib.sh"

start_fake_primary --delay 300
start_sink
mxg_conf a <<EOF2
max_sessions_per_ip = 100
max_sessions_per_net = 100
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 30s
callout_max_connections = 2
callout_max_queue = 4
callout_max_rejects_per_connection = 3
store = lmdb:$T
filters = rcpt
[rcpt]
callout_domains = example.test
catchall_detect = no
negative_ttl = 3s
harvest_tarpit_after = 0
harvest_disconnect_after = 0
harvest_ip_limit = 0
EOF2
start_mxguard a "$T/a.conf"
wait_log a 'primary .* is up'

note "30 sessions, one unknown recipient each, at once"
out=$("$PY" "$CLIENT" attack "$MXG_PORT_a" --sessions 30 --rcpts 30 --prefix cap)
echo "  > $out"
r2=$(echo "$out" | sed 's/.* 2xx=\([0-9]*\).*/\1/')
r4=$(echo "$out" | sed 's/.* 4xx=\([0-9]*\).*/\1/')
r5=$(echo "$out" | sed 's/.* 5xx=\([0-9]*\).*/\1/')
[ "$r2" = 0 ] && ok "no unknown recipient accepted" || fail "$r2 accepted"
[ "$r5" -le 6 ] && [ "$r5" -ge 2 ] && ok "$r5 answered from callouts (cap 2 + queue 4)" ||
    fail "$r5 callout answers, want 2..6"
[ $((r4 + r5)) = 30 ] && ok "the other $r4 tempfailed" || fail "2xx=$r2 4xx=$r4 5xx=$r5"
wait_for 10 '[ "$(fake_stat conns)" = 0 ] || [ "$(fake_stat rcpts)" -ge "$r5" ]'
[ "$(fake_stat max_conns)" -le 3 ] && ok "at most $(fake_stat max_conns) connections at the primary at once (2 callout + the probe)" ||
    fail "$(fake_stat max_conns) concurrent connections at the primary"
[ "$(fake_stat rcpts)" -le 6 ] && ok "$(fake_stat rcpts) RCPTs reached the primary" ||
    fail "$(fake_stat rcpts) RCPTs reached the primary, want <= 6"
expect_counter a callout_busy -ge 24
expect_log a 'decision verdict=tempfail by=rcpt stage=rcpt code=451 enh=4\.3\.0 reason="callout busy: callout queue full"'

note "the same address from 20 sessions at once: one callout"
before=$(fake_stat rcpts)
out=$("$PY" "$CLIENT" attack "$MXG_PORT_a" --sessions 20 --rcpts 20 \
    --valid-every 1 --valid same@example.test)
echo "  > $out"
echo "$out" | grep -q ' 5xx=20 ' && ok "all 20 rejected" || fail "$out"
[ "$(fake_stat max_per_addr)" = 1 ] && ok "the primary was asked once per address" ||
    fail "an address reached the primary $(fake_stat max_per_addr) times"
[ $(( $(fake_stat rcpts) - before )) = 1 ] && ok "one callout for 20 RCPTs" ||
    fail "$(( $(fake_stat rcpts) - before )) callouts for 20 RCPTs"
expect_counter a callout_coalesced -ge 10

note "a negative answer expires after negative_ttl: then the primary is asked again"
asked_again() {
	smtp_session a --rcpt same@example.test >/dev/null
	[ "$(fake_stat max_per_addr)" = 2 ]
}
wait_for 10 asked_again && ok "same@example.test asked again after its 3 s" ||
    fail "never asked again (max_per_addr=$(fake_stat max_per_addr))"

note "connections are reused, and renewed after 3 rejects each"
conns=$(fake_stat total_conns)
smtp_session a --rcpt seq1@example.test --rcpt seq2@example.test \
    --rcpt seq3@example.test --rcpt seq4@example.test --rcpt seq5@example.test \
    --rcpt seq6@example.test --rcpt valid1@example.test
expect_rcpt seq6@example.test '550 5\.1\.1 '
expect_rcpt valid1@example.test '250 '
expect_counter a callout_conn_reused -ge 4
n=$(( $(fake_stat total_conns) - conns ))
[ "$n" -ge 2 ] && [ "$n" -le 4 ] && ok "$n new connections for 6 rejects" ||
    fail "$n new connections for 6 rejects (want 2..4)"
finish
