#!/bin/sh
# t_backend_killed_mid_data: the backend is killed (SIGKILL) while the
# client is in the middle of the message; the client then finishes it and
# must get a 4xx for the message, never 250.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf

raw_session_bg recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<s@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: half a message\r\n\r\nthe first half\r\n' \
    "mark:$T/half" "waitfile:$T/go" \
    'send:the second half\r\n.\r\n' recv 'send:QUIT\r\n' recv
wait_for 10 "[ -f $T/half ]" || fail "the client did not get to the body"
kill_sink
note "smtp-sink killed in the middle of the message"
touch "$T/go"
raw_wait
expect_codes_match '^220 250 250 250 354 4[0-9][0-9]( 221)?$'
expect_reply '^451 4\.4\.2 '
expect_no_reply '^250 2\.0\.0'
expect_log 'decision verdict=tempfail by=backend stage=eom code=4[0-9][0-9] '
expect_no_log 'decision verdict=accept'
expect_counter backend_lost 1
expect_counter txn_accepted 0
expect_sink_count 0
finish
