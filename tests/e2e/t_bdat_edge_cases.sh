#!/bin/sh
# t_bdat_edge_cases: CHUNKING (RFC 3030) at its edges; each message goes
# to the backend as DATA and arrives byte for byte.
#   - one "BDAT n LAST" chunk; zero-length chunks first, between and last
#     ("BDAT 0 LAST" ends the message); MAIL, RCPT, three chunks and QUIT
#     in one write, with a CRLF cut between two chunks and chunk bytes
#     that look like commands (they are data);
#   - a chunk larger than max_message_size: "552 5.3.4" and the session is
#     closed; chunks adding up to more: "552 5.3.4" for the message, the
#     session goes on (counter limit_message_size);
#   - a bare LF or a bare CR inside a chunk: "550 5.6.0", not relayed
#     (counter data_bare_newline_rejected);
#   - BINARYMIME is not offered and BODY=BINARYMIME gets "555 5.5.4";
#   - BDAT after a DATA transaction (no MAIL): 503, its bytes are read and
#     never taken for commands; DATA after a BDAT chunk: "503 5.5.1", the
#     BDAT transaction goes on; BDAT after RSET: 503;
#   - BDAT before RCPT: 503; with only refused recipients: "554 5.5.1";
#   - bad BDAT syntax: 501, the session goes on.
# A well-behaved client's message gets 250 alongside.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_message_size=10k
RAW_TIMEOUT=10
EHLO='send:EHLO chunks.example.net\r\n'
# S: the steps of the next session; mr NAME adds MAIL and RCPT (lockstep)
mr() {
	S+=("send:MAIL FROM:<$1@client.example.net>\\r\\n" recv
	    "send:RCPT TO:<$1@example.test>\\r\\n" recv)
}
# chunk TEXT [LAST]: a send step "BDAT <len of TEXT> [LAST]\r\nTEXT"
chunk() {
	local n
	n=$(printf '%b' "$1" | wc -c)
	printf 'send:BDAT %d%s\\r\\n%s' "$n" "${2:+ LAST}" "$1"
}

# one chunk, LAST
printf 'Subject: bdat one\r\n\r\nOne chunk only.\r\n' > "$T/one.eml"
S=(recv "$EHLO" recv)
mr one
S+=("$(chunk 'Subject: bdat one\r\n\r\nOne chunk only.\r\n' LAST)" recv
    'send:QUIT\r\n' recv)
raw_session "${S[@]}"
expect_reply '^250[- ]CHUNKING$'
expect_no_reply 'BINARYMIME'
expect_codes "220 250 250 250 250 221"
wait_sink_count 1
expect_sink_message "$T/one.eml" "$(sink_find '^Subject: bdat one$')"

# zero-length chunks: first, in between, and BDAT 0 LAST at the end
printf 'Subject: bdat zero\r\n\r\nAround empty chunks.\r\n' > "$T/zero.eml"
S=(recv "$EHLO" recv)
mr zero
S+=('send:BDAT 0\r\n' recv "$(chunk 'Subject: bdat zero\r\n')" recv
    'send:BDAT 0\r\n' recv "$(chunk '\r\nAround empty chunks.\r\n')" recv
    'send:BDAT 0 LAST\r\n' recv 'send:QUIT\r\n' recv)
raw_session "${S[@]}"
expect_codes "220 250 250 250 250 250 250 250 250 221"
expect_reply '^250 2\.0\.0 Ok: 0 octets received'
wait_sink_count 2
expect_sink_message "$T/zero.eml" "$(sink_find '^Subject: bdat zero$')"

# everything in one write; a CRLF cut between chunks; command-like data
printf 'Subject: bdat piped\r\n\r\nQUIT\r\nRSET\r\nMAIL FROM:<x@evil.test>\r\nend\r\n' \
    > "$T/piped.eml"
w='send:MAIL FROM:<piped@client.example.net>\r\nRCPT TO:<piped@example.test>\r\n'
w=$w$(chunk 'Subject: bdat piped\r' | sed 's/^send://')
w=$w$(chunk '\n\r\nQUIT\r\nRSET\r\n' | sed 's/^send://')
w=$w$(chunk 'MAIL FROM:<x@evil.test>\r\nend\r\n' LAST | sed 's/^send://')
raw_session recv "$EHLO" recv "${w}QUIT\r\n" recv:6
expect_codes "220 250 250 250 250 250 250 221"
wait_sink_count 3
expect_sink_message "$T/piped.eml" "$(sink_find '^Subject: bdat piped$')"
expect_sink_not_contains '^X-Mail-Args: <x@evil'

# size: one chunk over the limit; chunks adding up to more than it
S=(recv "$EHLO" recv)
mr huge
S+=('send:BDAT 20000\r\n' recv eof)
raw_session "${S[@]}"
expect_codes "220 250 250 250 552"
expect_reply '^552 5\.3\.4 '
grep -q '^=== EOF' "$LAST" && ok "closed after the oversized chunk" ||
    fail "not closed after the oversized chunk"
big=$(printf 'y%.0s' $(seq 1 6000))
S=(recv "$EHLO" recv)
mr big
S+=("send:BDAT 6000\\r\\n$big" recv "send:BDAT 6000 LAST\\r\\n$big" recv
    'send:NOOP\r\n' recv 'send:QUIT\r\n' recv)
raw_session "${S[@]}"
expect_codes "220 250 250 250 250 552 250 221"
expect_counter limit_message_size 2

# bare LF, bare CR
S=(recv "$EHLO" recv)
mr barelf
S+=("$(chunk 'Subject: bare lf\r\n\r\nline\nmore\r\n' LAST)" recv)
mr barecr
S+=("$(chunk 'Subject: bare cr\r\n\r\nline\rmore\r\n' LAST)" recv
    'send:QUIT\r\n' recv)
raw_session "${S[@]}"
expect_codes "220 250 250 250 550 250 250 550 221"
expect_reply '^550 5\.6\.0 '
expect_counter data_bare_newline_rejected 2
expect_sink_not_contains '^Subject: bare'

# BINARYMIME
raw_session recv "$EHLO" recv \
    'send:MAIL FROM:<bin@client.example.net> BODY=BINARYMIME\r\n' recv \
    'send:QUIT\r\n' recv
expect_codes "220 250 555 221"
expect_reply '^555 5\.5\.4 '

# BDAT after DATA, DATA after BDAT, BDAT after RSET
printf 'Subject: bdat then data\r\n' > "$T/mixed.eml"
S=(recv "$EHLO" recv)
mr viadata
S+=('send:DATA\r\n' recv "senddata:$TESTDATA/msgs/small.eml" recv
    "$(chunk 'NOOP\r\nNOOP\r\n')" recv 'send:NOOP\r\n' recv)
mr mixed
S+=("$(chunk 'Subject: bdat then data\r\n')" recv 'send:DATA\r\n' recv
    'send:BDAT 0 LAST\r\n' recv)
mr reset
S+=("$(chunk 'Subject: reset\r\n')" recv 'send:RSET\r\n' recv
    "$(chunk 'Subject: after rset\r\n' LAST)" recv 'send:QUIT\r\n' recv)
raw_session "${S[@]}"
#             EHLO MAIL RCPT DATA .  BDAT NOOP MAIL RCPT BDAT DATA BDAT-LAST
#             MAIL RCPT BDAT RSET BDAT-LAST QUIT
expect_codes "220 250 250 250 354 250 503 250 250 250 250 503 250 250 250 250 250 503 221"
expect_reply '^503 5\.5\.1 .*DATA after BDAT'
wait_sink_count 5
expect_sink_message "$T/mixed.eml" "$(sink_find '^Subject: bdat then data$')"
expect_sink_not_contains '^Subject: (reset|after rset)$'

# no RCPT; only refused recipients
raw_session recv "$EHLO" recv \
    'send:MAIL FROM:<norcpt@client.example.net>\r\n' recv \
    "$(chunk 'NOOP\r\n')" recv 'send:RCPT TO:<x@elsewhere.example>\r\n' recv \
    "$(chunk 'NOOP\r\n' LAST)" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 503 554 554 221"
expect_reply '^554 5\.5\.1 '

# bad syntax
raw_session recv "$EHLO" recv 'send:BDAT\r\n' recv 'send:BDAT -1\r\n' recv \
    'send:BDAT 10LAST\r\n' recv 'send:BDAT 5 FIRST\r\n' recv \
    'send:NOOP\r\n' recv 'send:QUIT\r\n' recv
expect_codes "220 250 501 501 501 501 250 221"

good_mail bdat-edges
expect_sink_count 6
finish
