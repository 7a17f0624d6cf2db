#!/bin/sh
# t_hostile_rset_noop_flood: thousands of RSET and NOOP in one write. Under
# the default max_commands (10000), 9000 of them each get their 250, in
# order, and QUIT still gets 221. With max_commands = 1000, command 1001
# gets "421 4.7.0 ... too many commands" and the connection is closed
# (counter limit_max_commands): 999 RSET/NOOP after EHLO were answered,
# none after. Meanwhile a well-behaved client's message gets 250 and
# reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf

B1=$T/burst1.out
hostile burst -t 30 --count 9000 --cmds RSET,NOOP --quit >"$B1" 2>&1 &
BP=$!
PIDS="$PIDS $BP"
good_mail during-flood
wait_for 40 "! kill -0 $BP 2>/dev/null" || fail "the flood did not end"
sed 's/^/    /' "$B1"
[ "$(sed -n 's/^COUNT 250=//p' "$B1")" = 9000 ] &&
    ok "9000 RSET/NOOP answered 250" ||
    fail "expected 9000 replies 250, got $(sed -n 's/^COUNT 250=//p' "$B1")"
grep -q '^COUNT 221=1$' "$B1" && ok "QUIT answered 221" || fail "no 221 to QUIT"
[ "$(result eof "$B1")" = 1 ] && ok "closed after QUIT" || fail "not closed after QUIT"
expect_counter limit_max_commands 0

stop_mxguard
start_mxguard plain.conf max_commands=1000
B2=$T/burst2.out
hostile burst -t 30 --count 3000 --cmds RSET,NOOP,RSET --quit >"$B2" 2>&1 &
BP=$!
PIDS="$PIDS $BP"
good_mail during-limited-flood
wait_for 40 "! kill -0 $BP 2>/dev/null" || fail "the flood did not end"
sed 's/^/    /' "$B2"
[ "$(sed -n 's/^COUNT 250=//p' "$B2")" = 999 ] &&
    ok "999 RSET/NOOP answered 250 after EHLO" ||
    fail "expected 999 replies 250 after EHLO, got $(sed -n 's/^COUNT 250=//p' "$B2")"
grep -q '^COUNT 421=1$' "$B2" && ok "then one 421" || fail "no single 421"
grep -qE '^LAST 421 4\.7\.0 .*too many commands' "$B2" && ok "421 4.7.0 is the last reply" ||
    fail "the last reply is not 421 4.7.0 too many commands"
[ "$(result eof "$B2")" = 1 ] && ok "closed" || fail "not closed"
expect_counter limit_max_commands 1
good_mail after-flood
expect_sink_count 3
finish
