#!/bin/sh
# t_relay_backup_postfix: mxguard in front of a real Postfix configured as
# a backup MX (relay_domains = example.test) that relays on to an
# smtp-sink standing in for the primary. swaks and smtp-source deliver
# through it; every message reaches the primary; other domains are refused
# by mxguard (Relay access denied) before Postfix sees them.
. "$(dirname "$0")/lib.sh"
command -v smtp-source >/dev/null 2>&1 || skip "smtp-source not installed"

start_backup_postfix
start_mxguard plain.conf

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<alice@client.example.net>\r\n' recv \
    'send:RCPT TO:<bob@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/basic.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
expect_reply '^250 2\.0\.0 Ok: queued as '
swaks_send --to user@example.test --data "@$TESTDATA/msgs/small.eml"
expect_reply '^250 2\.0\.0 Ok: queued as '
swaks_send --to user@other.example
expect_reply '^554 5\.7\.1 <user@other\.example>: Relay access denied$'

# 20 messages, 4 sessions in parallel, 5 each
smtp-source -s 4 -m 20 -f source@client.example.net -t rcpt@example.test \
    -M client.example.net "127.0.0.1:$MXG_PORT" >"$T/smtp-source.out" 2>&1
rc=$?
[ $rc = 0 ] && ok "smtp-source exit 0" ||
    { fail "smtp-source exit $rc"; cat "$T/smtp-source.out"; }

wait_sink_count 22 30 "$PRIMARY_DIR"
# byte for byte at the primary, below Postfix's Received: and mxguard's
f=$(sink_find 'Subject: mxguard e2e basic message' "$PRIMARY_DIR")
expect_sink_message "$TESTDATA/msgs/basic.eml" "$f" 2
if [ -n "$f" ] && "$PY" "$SINKMSG" content "$f" 1 | head -n 1 |
    grep -q '^Received: from client.example.net (unknown \[127.0.0.1\])$'; then
	ok "mxguard's Received: header is right under Postfix's"
else
	fail "mxguard's Received: header is not under Postfix's"
fi
[ -n "$(sink_find 'Subject: small' "$PRIMARY_DIR")" ] &&
    ok "the swaks message reached the primary" ||
    fail "the swaks message did not reach the primary"
expect_sink_not_contains 'other\.example' "$PRIMARY_DIR"
n=$(grep -c 'decision verdict=accept by=backend stage=eom code=250' "$MXG_LOG")
[ "$n" = 22 ] && ok "22 accept decisions" || fail "$n accept decisions, want 22"
[ "$(pf_queue_count "$PF_DIR")" = 0 ] && ok "Postfix's queue is empty" ||
    fail "Postfix still holds $(pf_queue_count "$PF_DIR") message(s)"
finish
