#!/bin/sh
# t_smtp_client_timeouts: a client that goes silent after the greeting, or
# in the middle of its message, gets "421 4.4.2" after timeout_command or
# timeout_data and is disconnected; the half message is not delivered.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf timeout_greeting=2s timeout_command=2s timeout_data=2s

t0=$(date +%s)
raw_session recv 'send:EHLO client.example.net\r\n' recv eof
t1=$(date +%s)
expect_codes "220 250 421"
expect_reply '^421 4\.4\.2 '
[ $((t1 - t0)) -le 6 ] && ok "cut after $((t1 - t0)) s (timeout_command 2s)" ||
    fail "cut after $((t1 - t0)) s (timeout_command 2s)"

raw_session recv eof
expect_codes "220 421"

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<slow@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: never finished\r\n\r\nhalf\r\n' eof
expect_codes "220 250 250 250 354 421"
expect_reply '^421 4\.4\.2 '
expect_log 'decision verdict=tempfail by=limit:timeout '
expect_counter conn_timeout 3
expect_sink_count 0
finish
