#!/bin/sh
# t_tls_starttls: STARTTLS to clients with a self-signed certificate (made
# here by openssl): offered before TLS, not after; a message delivered over
# TLS (swaks --tls when swaks has Net::SSLeay, and smtpraw.py) gets
# "with ESMTPS" in the Received: header; QUIT inside TLS gets its 221;
# STARTTLS inside a transaction or a second time is refused; a failed
# handshake ends the session without a reply in clear.
. "$(dirname "$0")/lib.sh"

gen_cert
start_sink
start_mxguard plain.conf "tls_cert_file=$TLS_CERT" "tls_key_file=$TLS_KEY"

# 1. smtpraw.py: the whole transaction inside TLS
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:STARTTLS\r\n' recv starttls \
    'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<tls@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/basic.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 220 250 250 250 354 250 221"
grep -q '^=== TLS TLSv1\.[23]' "$LAST" && ok "TLS 1.2 or 1.3" ||
    fail "raw client: no TLS"
# STARTTLS offered once: in the EHLO before TLS only
[ "$(replies | grep -c '^250-STARTTLS$')" = 1 ] &&
    ok "STARTTLS offered before TLS, not inside it" ||
    fail "STARTTLS offered $(replies | grep -c '^250-STARTTLS$') times (want 1: not inside TLS)"
wait_log ' tls TLSv1\.[23]' 5
expect_sink_count 1
f=$(sink_files | head -n 1)
expect_sink_message "$TESTDATA/msgs/basic.eml" "$f"
expect_sink_contains 'by mx\.example\.test \(mxguard\) with ESMTPS id '

# 2. swaks --tls
if perl -MNet::SSLeay -e 1 2>/dev/null; then
	swaks_send --to user@example.test --tls --data "@$TESTDATA/msgs/small.eml"
	expect_reply '^220 2\.0\.0 '
	expect_reply '^250 2\.0\.0 Ok'
	expect_reply '^221 '
	expect_sink_count 2
	expect_counter tls_handshake_ok 2
else
	note "swaks has no TLS here (Debian: libnet-ssleay-perl); skipped its part"
	expect_counter tls_handshake_ok 1
fi

# 3. STARTTLS inside a transaction (503), and again inside TLS (5xx)
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<s@client.example.net>\r\n' recv \
    'send:STARTTLS\r\n' recv 'send:RSET\r\n' recv \
    'send:STARTTLS\r\n' recv starttls \
    'send:EHLO client.example.net\r\n' recv \
    'send:STARTTLS\r\n' recv 'send:QUIT\r\n' recv
expect_codes_match '^220 250 250 503 250 220 250 5[0-9][0-9] 221$'

# 4. a client that says STARTTLS and then sends garbage: no reply in
# clear, the session ends, counted as a failed handshake
n=$(grep -c ' disconnect ' "$MXG_LOG")
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:STARTTLS\r\n' recv 'send:this is not a TLS hello\r\n\r\n' eof
expect_codes "220 250 220"
wait_for 5 "[ \$(grep -c ' disconnect ' $MXG_LOG) -gt $n ]" &&
    ok "the session with a failed handshake ended" ||
    fail "the session with a failed handshake did not end"
expect_counter tls_handshake_fail 1
finish
