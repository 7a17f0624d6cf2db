#!/bin/sh
# t_hostile_pipelining: clients that do not wait where SMTP says they
# must. Message bytes pipelined behind DATA (before the 354) get "554
# 5.5.0" and "421", the connection is closed and nothing is relayed
# (counter cmd_pipelining_violation); the same for commands pipelined
# after HELO when PIPELINING was never offered (HELO, not EHLO); every
# reply before the violation still comes, in order. Meanwhile a
# well-behaved client's message gets 250 and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf
RAW_TIMEOUT=10

# DATA and the message in one write, the session held open meanwhile
hraw_bg recv 'send:EHLO early.example.net\r\n' recv "waitfile:$T/go" \
    'send:MAIL FROM:<early@client.example.net>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: too early\r\n\r\nbody\r\n.\r\nMAIL FROM:<second@client.example.net>\r\n' \
    eof
P1=$RAW_PID O1=$RAW_OUT
# only DATA and one message line pipelined, after MAIL/RCPT in lockstep
hraw_bg recv 'send:EHLO early.example.net\r\n' recv \
    'send:MAIL FROM:<early@client.example.net>\r\n' recv \
    'send:RCPT TO:<victim@example.test>\r\n' recv "waitfile:$T/go" \
    'send:DATA\r\nSubject: too early\r\n' eof
P2=$RAW_PID O2=$RAW_OUT
# HELO (no PIPELINING offered), then MAIL and RCPT in one write
hraw_bg recv 'send:HELO early.example.net\r\n' recv "waitfile:$T/go" \
    'send:MAIL FROM:<early@client.example.net>\r\nRCPT TO:<victim@example.test>\r\n' \
    eof
P3=$RAW_PID O3=$RAW_OUT
wait_for 10 "[ \$(grep -c '^<<< 250 ' $O1 $O2 $O3 | awk -F: '{s+=\$2} END {print s}') -ge 5 ]" ||
    fail "the pipelining clients did not get going"
good_mail while-open
touch "$T/go"

RAW_PID=$P1 RAW_OUT=$O1 raw_wait 15
expect_codes "220 250 250 250 554 421"
expect_reply '^554 5\.5\.0 '
grep -q '^=== EOF' "$LAST" && ok "closed" || fail "not closed"
RAW_PID=$P2 RAW_OUT=$O2 raw_wait 15
expect_codes "220 250 250 250 554 421"
grep -q '^=== EOF' "$LAST" && ok "closed" || fail "not closed"
RAW_PID=$P3 RAW_OUT=$O3 raw_wait 15
expect_codes_match '^220 250 554$'
expect_reply '^554 5\.5\.0 .*pipelining'
grep -q '^=== EOF' "$LAST" && ok "closed" || fail "not closed"

expect_counter cmd_pipelining_violation 3
good_mail after
expect_sink_not_contains 'too early|victim@example'
expect_sink_count 2
finish
