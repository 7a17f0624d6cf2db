#!/bin/sh
# t_hostile_slowloris: clients that dribble one byte a second -- a command
# line before HELO, a command line after it, the message inside DATA, a
# BDAT chunk, and a TLS ClientHello after STARTTLS -- are cut off: timeout_greeting/command/data (3 s here) bound the time a
# line may take, not only the silence between two bytes, so each session
# ends with "421 4.4.2" and a close within a few seconds (counter
# conn_timeout), and nothing of theirs is delivered. Meanwhile a
# well-behaved client's message gets 250 and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

gen_cert
start_sink
start_mxguard plain.conf timeout_greeting=3s timeout_command=3s \
    timeout_data=3s "tls_cert_file=$TLS_CERT" "tls_key_file=$TLS_KEY"
CAP=12		# 3 s timeouts: a cut within 12 s is a cut

# three slow-loris sessions at once, each dribbling for at most 30 s
hraw_bg recv 'dribble:1:25:EHLO slowloris.example.net\r\n' time
RAW_GREET=$RAW_PID OUT_GREET=$RAW_OUT
hraw_bg recv 'send:EHLO slowloris.example.net\r\n' recv \
    'dribble:1:25:MAIL FROM:<slowloris@client.example.net>\r\n' time
RAW_CMD=$RAW_PID OUT_CMD=$RAW_OUT
hraw_bg recv 'send:EHLO slowloris.example.net\r\n' recv \
    'send:MAIL FROM:<slowloris@client.example.net>\r\n' recv \
    'send:RCPT TO:<victim@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'dribble:1:25:Subject: slowloris xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' time
RAW_DATA=$RAW_PID OUT_DATA=$RAW_OUT
hraw_bg recv 'send:EHLO slowloris.example.net\r\n' recv \
    'send:MAIL FROM:<slowloris@client.example.net>\r\n' recv \
    'send:RCPT TO:<victim@example.test>\r\n' recv \
    'send:BDAT 1000 LAST\r\nSubject: slowloris\r\n\r\n' \
    'dribble:1:25:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' time
RAW_BDAT=$RAW_PID OUT_BDAT=$RAW_OUT
hraw_bg recv 'send:EHLO slowloris.example.net\r\n' recv 'send:STARTTLS\r\n' \
    recv 'tlsdribble:1:25' time
RAW_TLS=$RAW_PID OUT_TLS=$RAW_OUT
wait_for 10 "grep -q '^<<< 354' $OUT_DATA && grep -q '^<<< 250 ' $OUT_CMD && grep -q '^<<< 220 ' $OUT_GREET && grep -q '^<<< 220 2.0.0' $OUT_TLS && grep -q '^<<< 250 2.1.5' $OUT_BDAT" ||
    fail "the slow clients did not get going"

# while they dribble
good_mail slowloris-1

for which in GREET CMD DATA BDAT TLS; do
	eval "RAW_PID=\$RAW_$which RAW_OUT=\$OUT_$which"
	raw_wait 40
	secs=$(sed -n 's/^=== EOF after \([0-9.]*\) s$/\1/p' "$LAST" | tail -n 1)
	if [ -n "$secs" ] && [ "${secs%.*}" -lt "$CAP" ]; then
		ok "$which: slow client cut after $secs s of dribbling"
	else
		fail "$which: slow client not cut within ${CAP} s (${secs:-still connected after 25} s; 3 s timeout)"
	fi
	# under TLS the 421 cannot be read in clear: the close is enough
	[ $which = TLS ] || expect_reply '^421 4\.4\.2 '
done
good_mail slowloris-2
expect_counter conn_timeout -ge 5
expect_sink_not_contains '^(Subject: slowloris|X-Mail-Args: <slowloris)'
expect_sink_count 2
finish
