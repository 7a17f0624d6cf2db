#!/bin/sh
# t_relay_pipelining_order: MAIL, several RCPTs and DATA in one write, the
# recipients a mix of ones the backend accepts and ones mxguard refuses
# itself (relay denied, syntax, max_rcpts): the replies come back in the
# order of the commands, and the message goes to the accepted ones only.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf max_rcpts=3

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<pipe@client.example.net>\r\nRCPT TO:<ok1@example.test>\r\nRCPT TO:<x@other.example>\r\nRCPT TO:<ok2@example.test>\r\nRCPT TO:<broken\r\nRCPT TO:<ok3@example.test>\r\nRCPT TO:<ok4@example.test>\r\nDATA\r\n' \
    recv:8 "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_reply '^250-PIPELINING$'
expect_codes "220 250 250 250 554 250 501 250 452 354 250 221"
expect_reply '^554 5\.7\.1 <x@other\.example>: Relay access denied$'
expect_reply '^452 4\.5\.3 '
expect_sink_count 1
f=$(sink_files | head -n 1)
grep -a '^X-Rcpt-Args' "$f" | sort > "$T/rcpts"
printf '%s\n' 'X-Rcpt-Args: <ok1@example.test>' 'X-Rcpt-Args: <ok2@example.test>' \
    'X-Rcpt-Args: <ok3@example.test>' | sort > "$T/want"
if cmp -s "$T/rcpts" "$T/want"; then
	ok "the backend got exactly ok1, ok2, ok3"
else
	fail "recipients at the backend:"
	cat "$T/rcpts"
fi
expect_log 'decision verdict=reject by=relay stage=rcpt code=554 .*to=<x@other.example>'
expect_log 'decision verdict=tempfail by=limit:max_rcpts stage=rcpt code=452 .*to=<ok4@example.test>'

# Two transactions pipelined back to back, the second with no valid
# recipient: its DATA gets 554 (no recipients), and nothing more arrives.
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<pipe@client.example.net>\r\nRCPT TO:<nobody@other.example>\r\nDATA\r\n' \
    recv:3 'send:RSET\r\nMAIL FROM:<pipe@client.example.net>\r\nRCPT TO:<ok5@example.test>\r\nDATA\r\n' \
    recv:4 "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_codes_match '^220 250 250 554 5[0-9][0-9] 250 250 250 354 250 221$'
expect_sink_count 2
expect_sink_contains '^X-Rcpt-Args: <ok5@example.test>$'
expect_sink_not_contains 'nobody@other.example'
finish
