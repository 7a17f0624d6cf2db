#!/bin/sh
# t_hostile_conn_flood: a flood of connections from one address, then from
# its /24, then from everywhere. With max_sessions_per_ip = 10,
# max_sessions_per_net = 15 and max_sessions = 40:
#   30 connections from 127.0.0.5: 10 greeted, 20 get "421 4.7.0 ... too
#     many connections from your address"; 10 more from 127.0.0.6 (same
#     /24): 5 greeted, 5 refused; 10 from 127.0.1.5 (another /24): all
#     greeted (counter conn_refused_max_per_ip = 25);
#   a well-behaved client from 127.0.9.1 meanwhile: 250, delivered;
#   20 more from 127.0.2.1-20: 15 greeted (40 sessions), 5 get "421 4.7.0
#     ... too many connections" (counter conn_refused_max_sessions = 5);
#   when the flood goes, its slots are free again: 10 connections from
#     127.0.0.5 are all greeted, and 1000 short connections open and
#     closed one after the other leave no count behind; the good client's
#     mail flows.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_sessions_per_ip=10 max_sessions_per_net=15 \
    max_sessions=40 timeout_greeting=60s

conns_bg a --sources 127.0.0.5 --per-source 30
wait_conns a
[ "$(source_count a 127.0.0.5 greeted)" = 10 ] && [ "$(source_count a 127.0.0.5 refused)" = 20 ] &&
    ok "127.0.0.5: 10 greeted, 20 refused" ||
    fail "127.0.0.5: expected 10 greeted and 20 refused"
grep -q '^<<< 421 4\.7\.0 .*too many connections from your address' "$T/a.out" &&
    ok "refused with 421 4.7.0 too many connections from your address" ||
    fail "no 421 4.7.0 per-address refusal"
conns_bg b --sources 127.0.0.6 --per-source 10
wait_conns b
[ "$(source_count b 127.0.0.6 greeted)" = 5 ] && [ "$(source_count b 127.0.0.6 refused)" = 5 ] &&
    ok "127.0.0.6 (same /24): 5 greeted, 5 refused" ||
    fail "127.0.0.6 (same /24): expected 5 greeted and 5 refused"
conns_bg c --sources 127.0.1.5 --per-source 10
wait_conns c
[ "$(source_count c 127.0.1.5 greeted)" = 10 ] &&
    ok "127.0.1.5 (another /24): 10 greeted" ||
    fail "127.0.1.5 (another /24): expected 10 greeted"
expect_counter conn_refused_max_per_ip 25
good_mail during-flood --local-interface 127.0.9.1

conns_bg d --sources 127.0.2.1-127.0.2.20
wait_conns d
[ "$(result greeted "$T/d.out")" = 15 ] && [ "$(result refused "$T/d.out")" = 5 ] &&
    ok "max_sessions: 15 greeted (40 with the 25 others), 5 refused" ||
    fail "max_sessions 40: expected 15 greeted and 5 refused"
grep -q '^<<< 421 4\.7\.0 .*too many connections, try again later' "$T/d.out" &&
    ok "refused with 421 4.7.0 too many connections" ||
    fail "no 421 4.7.0 max_sessions refusal"
expect_counter conn_refused_max_sessions 5
# full: the good client is refused too, politely
swaks_send --to good@example.test --local-interface 127.0.9.1
expect_reply '^421 4\.7\.0 '
expect_counter conn_refused_max_sessions 6

for n in a b c d; do
	release_conns $n
done
wait_sessions 0
conns_bg e --sources 127.0.0.5 --per-source 10
wait_conns e
[ "$(source_count e 127.0.0.5 greeted)" = 10 ] &&
    ok "127.0.0.5 again: 10 greeted" || fail "127.0.0.5 again: expected 10 greeted"
release_conns e
"$PY" - "$MXG_PORT" <<'PY'
import socket, sys
for i in range(1000):
    s = socket.socket()
    s.bind(("127.0.0.7", 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.close()
PY
wait_sessions 0
conns_bg f --sources 127.0.0.7 --per-source 10
wait_conns f
[ "$(source_count f 127.0.0.7 greeted)" = 10 ] &&
    ok "after 1000 short connections: 10 greeted from 127.0.0.7" ||
    fail "after 1000 short connections from 127.0.0.7: expected 10 greeted"
release_conns f
good_mail after-flood --local-interface 127.0.9.1
expect_sink_count 2
finish
