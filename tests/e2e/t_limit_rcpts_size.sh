#!/bin/sh
# t_limit_rcpts_size: per-message limits, each with its reply and counter.
#   max_rcpts = 3: the 4th and 5th RCPT get "452 4.5.3" (counter
#     limit_max_rcpts), the message goes to the 3 accepted ones;
#   max_message_size = 10k: EHLO offers SIZE 10240; MAIL ... SIZE=20000
#     gets "552 5.3.4" at once; a 20 KB message sent without SIZE gets
#     "552 5.3.4" after its final dot and is not relayed; a 9 KB one is
#     (counter limit_message_size);
#   max_line_length = 512: a 600-byte command gets "500 5.5.2" (counter
#     cmd_too_long) and the session goes on.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_rcpts=3 max_message_size=10k max_line_length=512
mk() {	# mk FILE BYTES SUBJECT: a message of about BYTES bytes
	"$PY" - "$1" "$2" "$3" <<'PY'
import sys
path, size, subj = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = b"Subject: " + subj.encode() + b"\r\n\r\n"
line = b"y" * 62 + b"\r\n"
body = line * ((size - len(head)) // len(line) + 1)
open(path, "wb").write((head + body)[:size - 2] + b"\r\n")
PY
}
mk "$T/9k.eml" 9000 "size 9k"
mk "$T/20k.eml" 20000 "size 20k"

raw_session recv 'send:EHLO limits.example.net\r\n' recv \
    'send:MAIL FROM:<many@client.example.net>\r\nRCPT TO:<r1@example.test>\r\nRCPT TO:<r2@example.test>\r\nRCPT TO:<r3@example.test>\r\nRCPT TO:<r4@example.test>\r\nRCPT TO:<r5@example.test>\r\n' \
    recv:6 'send:DATA\r\n' recv "senddata:$T/9k.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 250 250 452 452 354 250 221"
expect_reply '^452 4\.5\.3 '
expect_reply '^250[- ]SIZE 10240$'
expect_counter limit_max_rcpts 2
wait_sink_count 1
f=$(sink_find '^Subject: size 9k')
[ "$(grep -c '^X-Rcpt-Args:' $f)" = 3 ] && ok "the message went to 3 recipients" ||
    fail "the message went to $(grep -c '^X-Rcpt-Args:' $f) recipients, want 3"

raw_session recv 'send:EHLO limits.example.net\r\n' recv \
    'send:MAIL FROM:<big@client.example.net> SIZE=20000\r\n' recv \
    'send:MAIL FROM:<big@client.example.net>\r\n' recv \
    'send:RCPT TO:<big@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/20k.eml" recv \
    'send:MAIL FROM:<big@client.example.net> SIZE=9000\r\n' recv \
    'send:RCPT TO:<big@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/9k.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 552 250 250 354 552 250 250 354 250 221"
expect_reply '^552 5\.3\.4 '
expect_counter limit_message_size 2
expect_log 'decision verdict=reject by=limit:max_message_size stage=eom code=552'

long=$(printf 'x%.0s' $(seq 1 600))
raw_session recv 'send:EHLO limits.example.net\r\n' recv \
    "send:NOOP $long\\r\\n" recv 'send:NOOP\r\n' recv 'send:QUIT\r\n' recv
expect_codes "220 250 500 250 221"
expect_reply '^500 5\.5\.2 '
expect_counter cmd_too_long 1
expect_sink_not_contains '^Subject: size 20k'
expect_sink_count 2
finish
