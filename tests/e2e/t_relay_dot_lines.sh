#!/bin/sh
# t_relay_dot_lines: body lines ".", "..", ".x", "..." (dot-stuffed by the
# client, unstuffed by mxguard, stuffed again towards the backend) arrive
# as the client meant them; a dot line never ends the message early.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
MSG=$TESTDATA/msgs/dotlines.eml

# 1. byte-exact client: smtpraw.py stuffs the file itself
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<dots@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv \
    'send:DATA\r\n' recv "senddata:$MSG" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
expect_sink_count 1
expect_sink_message "$MSG" "$(sink_files | head -n 1)"

# 2. the last line before the end is a dot line: "..\r\n.\r\n" on the wire
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<dots@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: last line is a dot\r\n\r\nbody\r\n..\r\n.\r\n' recv \
    'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
expect_sink_count 2
f=$(sink_find '^Subject: last line is a dot')
printf 'Subject: last line is a dot\r\n\r\nbody\r\n.\r\n' > "$T/lastdot.eml"
expect_sink_message "$T/lastdot.eml" "$f"

# 3. an empty body and a body that is one dot line
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<dots@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: only a dot\r\n\r\n..\r\n.\r\n' recv \
    'send:MAIL FROM:<dots@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:.\r\n' recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 250 250 354 250 221"
expect_sink_count 4
printf 'Subject: only a dot\r\n\r\n.\r\n' > "$T/onlydot.eml"
expect_sink_message "$T/onlydot.eml" "$(sink_find '^Subject: only a dot')"

# 4. swaks does its own stuffing
swaks_send --to bob@example.test --data "@$MSG"
expect_reply '^250 '
expect_sink_count 5
n=$(grep -laE '^X-Mail-Args: <sender@client.example.net>' $(sink_files) | head -n 1)
"$PY" "$SINKMSG" content "$n" > "$T/swaks.got"
"$PY" "$SINKMSG" lf "$MSG" > "$T/swaks.want"
# swaks may add its own trailing line end: compare the dot lines
if grep -qxF '..' "$T/swaks.got" && grep -qxF '.' "$T/swaks.got" &&
    grep -qxF '.x' "$T/swaks.got" && grep -qxF '...' "$T/swaks.got" &&
    ! grep -qxF '....' "$T/swaks.got"; then
	ok "swaks' dot lines arrived unchanged"
else
	fail "swaks' dot lines changed:"
	diff "$T/swaks.want" "$T/swaks.got"
fi
finish
