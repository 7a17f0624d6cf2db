#!/bin/sh
# t_relay_8bit_body: 8BITMIME is offered; an 8-bit body (UTF-8, Latin-1,
# every byte 0x80-0xff, control bytes) sent with BODY=8BITMIME arrives
# unchanged, and the backend gets BODY=8BITMIME.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
MSG=$TESTDATA/msgs/8bit.eml

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<eight@client.example.net> BODY=8BITMIME\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv \
    'send:DATA\r\n' recv "senddata:$MSG" recv 'send:QUIT\r\n' recv
expect_reply '^250-8BITMIME$'
expect_codes "220 250 250 250 354 250 221"
expect_sink_count 1
f=$(sink_files | head -n 1)
expect_sink_message "$MSG" "$f"
if grep -qaE '^X-Mail-Args: <eight@client.example.net> BODY=8BITMIME$' "$f"; then
	ok "the backend got MAIL FROM with BODY=8BITMIME"
else
	fail "the backend's MAIL FROM lost BODY=8BITMIME:"
	grep -a '^X-Mail-Args' "$f"
fi

# BODY=7BIT is fine too; an unknown BODY value is refused by mxguard
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<eight@client.example.net> BODY=7BIT\r\n' recv \
    'send:RSET\r\n' recv \
    'send:MAIL FROM:<eight@client.example.net> BODY=BINARYMIME\r\n' recv \
    'send:QUIT\r\n' recv
expect_codes_match "^220 250 250 250 55[0-9] 221$"
finish
