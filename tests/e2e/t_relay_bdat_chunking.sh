#!/bin/sh
# t_relay_bdat_chunking: CHUNKING is offered; a message sent as BDAT
# chunks (pipelined, one write) gets one 250 per chunk in order and
# reaches the backend (as DATA) byte for byte, dot lines included; BDAT
# without MAIL is refused (its bytes skipped); smuggled end-of-data bytes
# inside a BDAT chunk never start a second transaction.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
MSG=$TESTDATA/msgs/basic.eml
nchunks=$((($(wc -c < "$MSG") + 299) / 300))

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<chunks@client.example.net>\r\nRCPT TO:<bob@example.test>\r\n' recv:2 \
    "bdat:300:$MSG" "recv:$nchunks" 'send:QUIT\r\n' recv
expect_reply '^250[- ]CHUNKING$'
expect_codes "220 250 250 250 $(printf '250 %.0s' $(seq 1 $nchunks))221"
expect_sink_count 1
expect_sink_message "$MSG" "$(sink_files | head -n 1)"

# dot lines need no stuffing in BDAT; towards the backend they do
MSG2=$TESTDATA/msgs/dotlines.eml
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<chunks@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv \
    "bdat:7:$MSG2" "recv:$((($(wc -c < "$MSG2") + 6) / 7))" 'send:QUIT\r\n' recv
expect_codes_match '^220 250 250 250( 250)+ 221$'
expect_sink_count 2
expect_sink_message "$MSG2" "$(sink_find '^Subject: dot lines$')"

# BDAT 0 LAST alone: an empty message; BDAT without MAIL: 503
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:BDAT 5\r\nabcde' recv \
    'send:MAIL FROM:<chunks@client.example.net>\r\nRCPT TO:<bob@example.test>\r\nBDAT 0 LAST\r\n' recv:3 \
    'send:QUIT\r\n' recv
expect_codes_match '^220 250 503 250 250 250 221$'
expect_sink_count 3

# a smuggled end of data inside a chunk: one message at most, never a
# second transaction from the smuggled sender
printf 'Subject: bdat smuggling\r\n\r\nline\r\n\n.\nMAIL FROM:<smuggled@evil.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nsmuggled\r\n.\r\n' > "$T/smug.eml"
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<chunks@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv \
    "bdat:1000:$T/smug.eml" recv 'send:QUIT\r\n' recv
expect_codes_match '^220 250 250 250 (250|550) 221$'
expect_sink_not_contains '^X-Mail-Args: <smuggled@evil\.test>'
[ "$(sink_count)" -le 4 ] && ok "at most one message for the smuggling attempt" ||
    fail "$(sink_count) messages at the sink (want 3 or 4)"
finish
