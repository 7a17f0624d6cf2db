#!/bin/sh
# t_smuggling_pipelined_after_dot: smtpsmug's "pipelining" case: a proper
# end of data, then in the same write a second MAIL/RCPT/DATA with its
# message, sent before the 250 for the dot. The first message is delivered
# once; the second one's DATA came with data behind it (RFC 2920 3.1
# forbids that), so it is refused (5xx) and never delivered.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
RAW_TIMEOUT=5
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<sender@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: first\r\n\r\nfirst body\r\n.\r\nMAIL FROM:<smuggled@evil.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n.\r\nQUIT\r\n' \
    eof
grep -q '^!!! timeout' "$LAST" &&
    fail "mxguard stopped answering: no reply and no close within 5 s"
# the first message 250, the pipelined MAIL and RCPT (relayed), then the
# DATA refused: 554 5.5.0, and 421 (or 221 for the QUIT)
expect_codes_match '^220 250 250 250 354 250 250 250 554 (421|221)$'
AFTER=$(codes | sed -n 's/^220 250 250 250 354 250 //p')
case " $AFTER " in
*" 354 "*) fail "the pipelined DATA got 354: \"$AFTER\"" ;;
*) ok "the pipelined DATA got no 354 (\"$AFTER\")" ;;
esac
expect_reply '^554 5\.5\.0 '
expect_counter cmd_pipelining_violation -ge 1
expect_sink_count 1
expect_sink_contains '^Subject: first$'
expect_sink_not_contains 'smuggled@evil\.test|SMUGGLED'
finish
