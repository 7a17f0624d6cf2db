#!/bin/sh
# t_backend_dies_at_dot: the backend hangs up right after the final dot
# (smtp-sink -q .), goes silent there (backend_data_timeout), hangs up at
# DATA, or aborts the DATA phase with an unsolicited 550 (smtp-sink -A 0):
# the client gets 4xx (or the 5xx), never 250. And a backend that stops
# reading in the middle of a streamed message (backend_timeout from when its
# queue stopped draining): 451, the rest of the message read and dropped.
. "$(dirname "$0")/lib.sh"

M='send:MAIL FROM:<s@client.example.net>\r\n'
R='send:RCPT TO:<user@example.test>\r\n'
session() {
	raw_session recv 'send:EHLO client.example.net\r\n' recv "$M" recv \
	    "$R" recv 'send:DATA\r\n' recv "$@" 'send:QUIT\r\n' recv
}
# a message the backend never answers: 451 4.4.2 within MAX seconds
timeout_session() {	# FILE MAX WHAT
	local t0 t1
	t0=$(date +%s)
	session "senddata:$1" recv
	t1=$(date +%s)
	expect_codes_match '^220 250 250 250 354 451 221$'
	expect_reply '^451 4\.4\.2 '
	[ $((t1 - t0)) -le "$2" ] && ok "the client got its 4xx after $((t1 - t0)) s" ||
	    fail "the timeout reply took $((t1 - t0)) s ($3)"
	expect_counter backend_timeout -ge 1
	expect_counter txn_accepted 0
}
restart() {
	[ -n "$MXG_PID" ] && stop_mxguard
	[ -n "${SINK_PID:-}" ] && { kill -KILL "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; }
	rm -rf "$T/sink" "$T/stallsink"
}

# 1. hang-up after the dot
start_sink -q .
start_mxguard plain.conf
session "senddata:$TESTDATA/msgs/small.eml" recv
expect_codes_match '^220 250 250 250 354 4[0-9][0-9] 221$'
expect_reply '^451 4\.4\.2 '
expect_log 'decision verdict=tempfail by=backend stage=eom code=451 enh=4\.4\.2'
expect_counter txn_accepted 0
expect_counter backend_lost 1

# 2. silence after the dot: backend_data_timeout
restart
start_stallsink .
start_mxguard plain.conf backend_data_timeout=2s
timeout_session "$TESTDATA/msgs/small.eml" 8 "backend_data_timeout = 2s"

# 3. hang-up at DATA: the DATA reply is 4xx
restart
start_sink -q DATA
start_mxguard plain.conf
session
expect_codes_match '^220 250 250 250 4[0-9][0-9] 221$'
expect_reply '^451 4\.4\.2 '

# 4. silence at DATA: backend_timeout
restart
start_stallsink DATA
start_mxguard plain.conf backend_timeout=2s
session
expect_codes_match '^220 250 250 250 4[0-9][0-9] 221$'
expect_reply '^451 4\.4\.2 '

# 5. the backend aborts the DATA phase (an unsolicited 550 after 354)
restart
start_sink -A 0
start_mxguard plain.conf
session "senddata:$TESTDATA/msgs/small.eml" recv
expect_codes_match '^220 250 250 250 (354 [45][0-9][0-9]|[45][0-9][0-9]) 221$'
expect_no_reply '^250 2\.0\.0'
expect_counter txn_accepted 0

# 6. the backend stops reading mid-message (streamed: no filter)
restart
start_stallsink BODY
start_mxguard plain.conf backend_timeout=2s max_message_size=30m
"$PY" "$E2E_DIR/mkmsg.py" 20971520 "$T/big.eml"
timeout_session "$T/big.eml" 20 "backend_timeout = 2s"
expect_log 'decision verdict=tempfail by=backend stage=eom code=451 .*reason="timeout while streaming the message"'
expect_counter data_streamed 1
rm -f "$T/big.eml"
finish
