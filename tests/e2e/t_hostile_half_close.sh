#!/bin/sh
# t_hostile_half_close: a client that sends its commands and then shuts
# down its sending side (shutdown(SHUT_WR), as `nc -N` or a script does)
# still gets every reply it is owed, in order, and then a clean close
# (EOF, no reset), including replies that come from the backend (MAIL,
# RCPT, the end of data). A message whose final dot came before the
# half-close is delivered. Meanwhile a well-behaved client's message gets
# 250 and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf
MSG=$TESTDATA/msgs/small.eml
RAW_TIMEOUT=10

# 1. local replies only, QUIT last
hraw_bg recv 'send:EHLO half.example.net\r\n' recv \
    'send:NOOP\r\nRSET\r\nNOOP\r\nQUIT\r\n' shutwr eof
P1=$RAW_PID O1=$RAW_OUT
# 2. no QUIT: the replies, then mxguard closes
hraw_bg recv 'send:EHLO half.example.net\r\n' recv 'send:NOOP\r\nNOOP\r\n' \
    shutwr eof
P2=$RAW_PID O2=$RAW_OUT
# 3. MAIL and RCPT (backend replies due), then RSET, QUIT, half-close
hraw_bg recv 'send:EHLO half.example.net\r\n' recv \
    'send:MAIL FROM:<half@client.example.net>\r\nRCPT TO:<half3@example.test>\r\nRSET\r\nQUIT\r\n' \
    shutwr eof
P3=$RAW_PID O3=$RAW_OUT
# 4. MAIL and RCPT pipelined, then half-close at once (no QUIT)
hraw_bg recv 'send:EHLO half.example.net\r\n' recv \
    'send:MAIL FROM:<half@client.example.net>\r\nRCPT TO:<half4@example.test>\r\n' \
    shutwr eof
P4=$RAW_PID O4=$RAW_OUT
# 5. a message, its final dot and QUIT, then half-close
printf 'Subject: half-close 5\r\n\r\nThe dot came before the FIN.\r\n' > "$T/m5.eml"
hraw_bg recv 'send:EHLO half.example.net\r\n' recv \
    'send:MAIL FROM:<half@client.example.net>\r\n' recv \
    'send:RCPT TO:<half5@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "sendfile:$T/m5.eml" 'send:.\r\nQUIT\r\n' shutwr eof
P5=$RAW_PID O5=$RAW_OUT
# 6. the same without QUIT
printf 'Subject: half-close 6\r\n\r\nThe dot came before the FIN.\r\n' > "$T/m6.eml"
hraw_bg recv 'send:EHLO half.example.net\r\n' recv \
    'send:MAIL FROM:<half@client.example.net>\r\n' recv \
    'send:RCPT TO:<half6@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "sendfile:$T/m6.eml" 'send:.\r\n' shutwr eof
P6=$RAW_PID O6=$RAW_OUT
good_mail half-close

check() {	# N CODES
	RAW_PID=$(eval echo "\$P$1") RAW_OUT=$(eval echo "\$O$1") raw_wait 15
	expect_codes "$2"
	if grep -q '^=== EOF' "$LAST" && ! grep -q '^!!! read error' "$LAST"; then
		ok "$1: clean close after the replies"
	else
		fail "$1: no clean close (EOF) after the replies"
	fi
}
check 1 "220 250 250 250 250 221"
check 2 "220 250 250 250"
check 3 "220 250 250 250 250 221"
check 4 "220 250 250 250"
check 5 "220 250 250 250 354 250 221"
check 6 "220 250 250 250 354 250"
wait_for 10 "[ \$(sink_count) -ge 3 ]"
expect_sink_contains '^Subject: half-close 5$'
expect_sink_contains '^Subject: half-close 6$'
expect_sink_count 3
finish
