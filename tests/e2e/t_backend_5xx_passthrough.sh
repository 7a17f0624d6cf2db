#!/bin/sh
# t_backend_5xx_passthrough: the backend's 5xx replies to MAIL, RCPT, DATA
# and the end of data reach the client unchanged (code, enhanced code,
# text), logged as reject by=backend.
. "$(dirname "$0")/lib.sh"

# phase CMD STEPS-AFTER-EHLO...: a fresh sink hard-rejecting CMD with a
# custom reply, a fresh mxguard, one session
phase() {
	local cmd=$1
	shift
	[ -n "$MXG_PID" ] && stop_mxguard
	[ -n "${SINK_PID:-}" ] && stop_sink
	rm -rf "$T/sink"
	start_sink -f "$cmd" -B "554 5.7.1 Backend says $cmd: go away"
	start_mxguard plain.conf
	raw_session recv 'send:EHLO client.example.net\r\n' recv "$@" \
	    'send:QUIT\r\n' recv
}
M='send:MAIL FROM:<s@client.example.net>\r\n'
R='send:RCPT TO:<user@example.test>\r\n'
D='send:DATA\r\n'

phase MAIL "$M" recv
expect_codes "220 250 554 221"
expect_reply '^554 5\.7\.1 Backend says MAIL: go away$'
expect_log 'decision verdict=reject by=backend stage=mail code=554 enh=5\.7\.1 reason="Backend says MAIL: go away"'

phase RCPT "$M" recv "$R" recv "$D" recv
expect_codes_match '^220 250 250 554 5[0-9][0-9] 221$'
expect_reply '^554 5\.7\.1 Backend says RCPT: go away$'
expect_log 'decision verdict=reject by=backend stage=rcpt code=554 enh=5\.7\.1 .*to=<user@example.test>'

phase DATA "$M" recv "$R" recv "$D" recv
expect_codes "220 250 250 250 554 221"
expect_reply '^554 5\.7\.1 Backend says DATA: go away$'

phase . "$M" recv "$R" recv "$D" recv \
    "senddata:$TESTDATA/msgs/small.eml" recv
expect_codes "220 250 250 250 354 554 221"
expect_reply '^554 5\.7\.1 Backend says \.: go away$'
expect_log 'decision verdict=reject by=backend stage=eom code=554 enh=5\.7\.1'
# (smtp-sink keeps the message even when it refuses the dot: no count here)
expect_counter txn_rejected 1
expect_counter backend_reply_5xx 1
finish
