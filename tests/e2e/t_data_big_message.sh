#!/bin/sh
# t_data_big_message: a 20 MB message (max_message_size = 30m) goes through
# intact: same SHA-256 at the sink (after the dump's CRLF -> LF), dot lines
# included, both ways: spooled first (stream_unfiltered = no; it spills to
# the spool file) and streamed as it arrives (the default with no filter;
# nothing spooled). Over the limit: 552 5.3.4 (at MAIL for a declared SIZE,
# at the end of data otherwise) and nothing arrives, streamed or not: the
# backend's connection is cut before the final dot.
. "$(dirname "$0")/lib.sh"

start_sink
"$PY" "$E2E_DIR/mkmsg.py" 20971520 "$T/big.eml"
size=$(wc -c < "$T/big.eml")
note "message of $size bytes"

for mode in no yes; do
note "stream_unfiltered = $mode"
start_mxguard plain.conf max_message_size=30m stream_unfiltered=$mode

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    "send:MAIL FROM:<big@client.example.net> SIZE=$size\\r\\n" recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/big.eml" recv 'send:QUIT\r\n' recv
expect_reply '^250-SIZE 31457280$'
expect_codes "220 250 250 250 354 250 221"
expect_sink_count 1
f=$(sink_files | head -n 1)
if [ -n "$f" ]; then
	"$PY" "$SINKMSG" lf "$T/big.eml" > "$T/want.msg"
	"$PY" "$SINKMSG" content "$f" > "$T/got.msg"
	w=$(sha "$T/want.msg")
	g=$(sha "$T/got.msg")
	if [ "$w" = "$g" ]; then
		ok "20 MB arrived intact (sha256 $w, $(wc -c < "$T/got.msg") bytes in the dump)"
	else
		fail "the message changed: sha256 $w sent, $g at the sink ($(wc -c < "$T/want.msg") vs $(wc -c < "$T/got.msg") bytes)"
		cmp "$T/want.msg" "$T/got.msg" | head -n 2
	fi
	rm -f "$T/want.msg" "$T/got.msg"
fi
expect_log "decision verdict=accept by=backend stage=eom code=250 .* size=$size "
if [ $mode = no ]; then
	expect_counter spool_to_file 1
	expect_counter data_streamed 0
else
	expect_counter spool_to_file 0
	expect_counter data_streamed 1
fi
expect_counter data_bytes "$size"
stop_mxguard
rm -f "$f"
done

# over the limit, spooled and streamed
for mode in no yes; do
start_mxguard plain.conf max_message_size=5m stream_unfiltered=$mode
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    "send:MAIL FROM:<big@client.example.net> SIZE=$size\\r\\n" recv \
    'send:MAIL FROM:<big@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/big.eml" recv 'send:QUIT\r\n' recv
expect_reply '^250-SIZE 5242880$'
expect_codes "220 250 552 250 250 354 552 221"
expect_reply '^552 5\.3\.4 '
expect_log 'decision verdict=reject by=limit:max_message_size stage=eom code=552'
expect_sink_count 0
expect_counter limit_message_size 2
stop_mxguard
done
finish
