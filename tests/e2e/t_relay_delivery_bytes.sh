#!/bin/sh
# t_relay_delivery_bytes: a message relayed through mxguard arrives at the
# backend byte for byte, below one Received: header of mxguard's own.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
MSG=$TESTDATA/msgs/basic.eml

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<alice@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv \
    'send:DATA\r\n' recv "senddata:$MSG" recv 'send:QUIT\r\n' recv eof
expect_codes "220 250 250 250 354 250 221"
expect_reply '^250 .*'
expect_log 'decision verdict=accept by=backend stage=eom code=250 .*from=<alice@client.example.net> to=<bob@example.test>'
expect_sink_count 1

f=$(sink_files | head -n 1)
if [ -n "$f" ]; then
	"$PY" "$SINKMSG" envelope "$f" > "$T/env"
	grep -qx 'X-Mail-Args: <alice@client.example.net>' "$T/env" &&
	    grep -qx 'X-Rcpt-Args: <bob@example.test>' "$T/env" &&
	    ok "envelope at the sink" ||
	    { fail "envelope at the sink:"; cat "$T/env"; }
	"$PY" "$SINKMSG" lf "$MSG" > "$T/want"
	"$PY" "$SINKMSG" content "$f" > "$T/got"
	if cmp -s "$T/want" "$T/got"; then
		ok "message arrived byte for byte ($(wc -c < "$T/got") bytes, LF line ends in the dump)"
	else
		fail "message differs at the sink:"
		diff "$T/want" "$T/got" | head -n 20
	fi
	# exactly one Received: header added, first, with the session id
	sid=$(sed -n 's/.*: \([0-9a-f]*\) connect client=.*/\1/p' "$MXG_LOG" | tail -n 1)
	"$PY" "$SINKMSG" message "$f" | awk '/^Received: /{r=1; h=$0; next} r && /^[ \t]/{h=h $0; next} {print h; exit}' > "$T/rcvd"
	if grep -qE "^Received: from client\.example\.net \(unknown \[127\.0\.0\.1\]\)[[:space:]]+by mx\.example\.test \(mxguard\) with ESMTP id $sid" "$T/rcvd"; then
		ok "Received: header: $(cat "$T/rcvd")"
	else
		fail "mxguard's Received: header is not as expected (sid $sid):"
		cat "$T/rcvd"
	fi
	n=$("$PY" "$SINKMSG" message "$f" | grep -c '^Received: ')
	[ "$n" = 1 ] && ok "one Received: header added" ||
	    fail "$n Received: headers in what mxguard sent (want 1)"
fi
finish
