#!/bin/sh
# t_signal_term_drain: on SIGTERM mxguard stops accepting, tells idle
# sessions 421, lets a slow client in the middle of its message finish it
# (250, then 421), and exits 0 once they are done, within drain_timeout.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf drain_timeout=15s

# A: mid-message when SIGTERM comes
raw_session_bg recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<slow@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: drained\r\n\r\nthe first half\r\n' \
    "mark:$T/a-half" "waitfile:$T/a-go" \
    'send:the second half\r\n.\r\n' recv eof
A_PID=$RAW_PID A_OUT=$RAW_OUT
# B: idle after EHLO
raw_session_bg recv 'send:EHLO client.example.net\r\n' recv \
    "mark:$T/b-idle" eof
B_PID=$RAW_PID B_OUT=$RAW_OUT
wait_for 10 "[ -f $T/a-half ] && [ -f $T/b-idle ]" ||
    fatal "the clients did not get going"
wait_for 5 "[ \$(grep -c ' connect client=' $MXG_LOG) -ge 2 ]"

kill -TERM "$MXG_PID"
wait_log 'shutting down: 2 session\(s\) to drain' 5

# B gets 421 and is closed
RAW_PID=$B_PID RAW_OUT=$B_OUT raw_wait 10
expect_codes "220 250 421"
expect_reply '^421 4\.3\.2 mx\.example\.test Service shutting down$'

# no new sessions: refused, or at most a 421
"$PY" "$SMTPRAW" -t 5 127.0.0.1 "$MXG_PORT" recv > "$T/new.out" 2>&1
if grep -q '^!!! connect failed' "$T/new.out" ||
    grep -q '^<<< 421 ' "$T/new.out"; then
	ok "a new connection is refused: $(grep -E '^(!!!|<<<)' "$T/new.out" | head -n 1)"
else
	fail "a new connection during the drain was served:"
	cat "$T/new.out"
fi
kill -0 "$MXG_PID" 2>/dev/null && ok "still running while A is in its message" ||
    fail "mxguard exited before the busy session finished"

# A finishes its message: 250, then 421, then mxguard exits 0
touch "$T/a-go"
RAW_PID=$A_PID RAW_OUT=$A_OUT raw_wait 20
expect_codes "220 250 250 250 354 250 421"
expect_reply '^250 2\.0\.0 Ok'
wait_mxguard 15
rc=$?
[ $rc = 0 ] && ok "mxguard exit 0 after the drain" || fail "mxguard exit $rc"
expect_log 'mxguard stopped'
expect_sink_count 1
expect_sink_contains '^the second half$'
finish
