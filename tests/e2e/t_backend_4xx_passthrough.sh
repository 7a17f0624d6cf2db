#!/bin/sh
# t_backend_4xx_passthrough: the backend's 4xx replies to MAIL, RCPT, DATA
# and the end of data reach the client unchanged (code, enhanced code,
# text), logged as tempfail by=backend.
. "$(dirname "$0")/lib.sh"

# phase CMD STEPS-AFTER-EHLO...: a fresh sink soft-rejecting CMD with a
# custom reply, a fresh mxguard, one session
phase() {
	local cmd=$1
	shift
	[ -n "$MXG_PID" ] && stop_mxguard
	[ -n "${SINK_PID:-}" ] && stop_sink
	rm -rf "$T/sink"
	start_sink -r "$cmd" -b "451 4.7.1 Backend says $cmd: come back later"
	start_mxguard plain.conf
	raw_session recv 'send:EHLO client.example.net\r\n' recv "$@" \
	    'send:QUIT\r\n' recv
}
M='send:MAIL FROM:<s@client.example.net>\r\n'
R='send:RCPT TO:<user@example.test>\r\n'
D='send:DATA\r\n'

phase MAIL "$M" recv
expect_codes "220 250 451 221"
expect_reply '^451 4\.7\.1 Backend says MAIL: come back later$'
expect_log 'decision verdict=tempfail by=backend stage=mail code=451 enh=4\.7\.1 reason="Backend says MAIL: come back later"'

phase RCPT "$M" recv "$R" recv "$D" recv
expect_codes_match '^220 250 250 451 5[0-9][0-9] 221$'
expect_reply '^451 4\.7\.1 Backend says RCPT: come back later$'
expect_log 'decision verdict=tempfail by=backend stage=rcpt code=451 enh=4\.7\.1 .*to=<user@example.test>'

phase DATA "$M" recv "$R" recv "$D" recv
expect_codes "220 250 250 250 451 221"
expect_reply '^451 4\.7\.1 Backend says DATA: come back later$'

phase . "$M" recv "$R" recv "$D" recv \
    "senddata:$TESTDATA/msgs/small.eml" recv
expect_codes "220 250 250 250 354 451 221"
expect_reply '^451 4\.7\.1 Backend says \.: come back later$'
expect_log 'decision verdict=tempfail by=backend stage=eom code=451 enh=4\.7\.1'
# (smtp-sink keeps the message even when it refuses the dot: no count here)
expect_counter txn_tempfailed 1
expect_counter backend_reply_4xx 1
finish
