#!/bin/sh
# t_relay_mixed_rcpts_postfix: through a real Postfix backup MX that knows
# its valid recipients (relay_recipient_maps) and defers one: a pipelined
# MAIL + RCPTs + DATA gets every reply in order, Postfix's 550 and 450
# passed through unchanged next to mxguard's own 554, and the message
# reaches the primary for the accepted recipients only.
. "$(dirname "$0")/lib.sh"

start_backup_postfix \
    "relay_recipient_maps = inline:{ok1@example.test=x, ok2@example.test=x, defer@example.test=x}" \
    "smtpd_recipient_restrictions = check_recipient_access inline:{{defer@example.test=450 4.2.1 Mailbox busy, try later}}"
start_mxguard plain.conf

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<mixed@client.example.net>\r\nRCPT TO:<ok1@example.test>\r\nRCPT TO:<bad@example.test>\r\nRCPT TO:<defer@example.test>\r\nRCPT TO:<x@other.example>\r\nRCPT TO:<ok2@example.test>\r\nDATA\r\n' \
    recv:7 "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 550 450 554 250 354 250 221"
expect_reply '^550 5\.1\.1 <bad@example\.test>: Recipient address rejected: User unknown in relay recipient table$'
expect_reply '^450 4\.2\.1 <defer@example\.test>: Recipient address rejected: Mailbox busy, try later$'
expect_reply '^554 5\.7\.1 <x@other\.example>: Relay access denied$'
expect_reply '^250 2\.0\.0 Ok: queued as [0-9A-F]+$'
expect_log 'decision verdict=reject by=backend stage=rcpt code=550 enh=5\.1\.1 .*to=<bad@example.test>'
expect_log 'decision verdict=tempfail by=backend stage=rcpt code=450 enh=4\.2\.1 .*to=<defer@example.test>'
expect_log 'decision verdict=accept by=backend stage=eom code=250 .*to=<ok1@example.test>,<ok2@example.test> '

wait_sink_count 1 20 "$PRIMARY_DIR"
f=$(sink_files "$PRIMARY_DIR" | head -n 1)
if [ -n "$f" ]; then
	grep -a '^X-Rcpt-Args' "$f" | sed 's/>.*/>/' | sort > "$T/rcpts"
	printf '%s\n' 'X-Rcpt-Args: <ok1@example.test>' \
	    'X-Rcpt-Args: <ok2@example.test>' > "$T/want"
	cmp -s "$T/rcpts" "$T/want" && ok "the primary got ok1 and ok2" ||
	    { fail "recipients at the primary:"; cat "$T/rcpts"; }
fi
expect_counter backend_reply_5xx 1
expect_counter backend_reply_4xx 1
finish
