#!/bin/sh
# t_tls_plaintext_injection: commands pipelined in clear text after
# STARTTLS (CVE-2011-0411 style) are discarded, never run inside TLS: no
# reply to them appears after the handshake, the injected sender never
# reaches the backend, and tls_plaintext_discarded counts it.
. "$(dirname "$0")/lib.sh"

gen_cert
start_sink
start_mxguard plain.conf "tls_cert_file=$TLS_CERT" "tls_key_file=$TLS_KEY"

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.test>\r\n' recv \
    starttls 'send:EHLO client.example.net\r\n' recv \
    'quiet:0.5' \
    'send:MAIL FROM:<real@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/small.eml" recv close
# 220 greet, 250 EHLO, 220 STARTTLS, 250 EHLO in TLS, then exactly the
# real transaction: an injected RSET/MAIL would add replies (and make the
# real MAIL a nested one: 503). (QUIT inside TLS: t_tls_starttls.)
expect_codes "220 250 220 250 250 250 354 250"
grep -q '^!!!' "$LAST" && fail "the raw client reports a problem" ||
    ok "nothing read in clear after the 220, no errors"
expect_counter tls_plaintext_discarded 1
expect_log 'STARTTLS followed by [0-9]+ bytes of pipelined clear text: discarded'
expect_sink_count 1
expect_sink_contains '^X-Mail-Args: <real@client.example.net>$'
expect_sink_not_contains 'injected@evil\.test'
expect_no_log 'from=<injected@evil.test>'
finish
