#!/bin/sh
# t_signal_term_drain_timeout: a client stuck in the middle of its message
# does not hold mxguard up: after drain_timeout the session is closed
# (no 250: the message is not delivered) and mxguard exits 0.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf drain_timeout=2s
raw_session_bg recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<stuck@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: never finished\r\n\r\nhalf\r\n' "mark:$T/half" eof
wait_for 10 "[ -f $T/half ]" || fatal "the client did not get going"
t0=$(date +%s)
kill -TERM "$MXG_PID"
wait_mxguard 10
rc=$?
t1=$(date +%s)
[ $rc = 0 ] && ok "mxguard exit 0" || fail "mxguard exit $rc"
[ $((t1 - t0)) -le 6 ] && ok "exited $((t1 - t0)) s after SIGTERM (drain_timeout 2s)" ||
    fail "exited $((t1 - t0)) s after SIGTERM (drain_timeout 2s)"
expect_log 'drain: 1 session\(s\) still open after 2000 ms'
raw_wait 10
expect_codes_match '^220 250 250 250 354( 4[0-9][0-9])?$'
expect_no_reply '^250 2\.0\.0'
expect_sink_count 0
finish
