#!/bin/sh
# t_access_sender_reject: senders and recipients refused by hash access
# tables (Postfix access(5) text) get the table's reply at MAIL/RCPT; a
# session whose senders are all refused never makes mxguard connect to
# the backend; an accepted sender in the same setup is delivered.
. "$(dirname "$0")/lib.sh"

start_sink
cp "$TESTDATA/tables/client-other.cidr" "$T/client.cidr"
start_mxguard access.conf
mxguard_stats
before=$(counter backend_connect_ok)

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<spammer@bad.example>\r\n' recv \
    'send:MAIL FROM:<anyone@bad.example>\r\n' recv \
    'send:MAIL FROM:<later@slow.example>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv \
    'send:QUIT\r\n' recv
expect_codes "220 250 554 554 450 503 221"
expect_reply '^554 5\.7\.1 <spammer@bad\.example>: Sender address rejected: Go away$'
expect_reply '^554 5\.7\.1 <anyone@bad\.example>: Sender address rejected: Access denied$'
expect_reply '^450 4\.7\.1 <later@slow\.example>: Sender address rejected: Try again tomorrow$'
expect_log 'decision verdict=reject by=access stage=mail code=554 .*from=<spammer@bad.example>'
mxguard_stats
after=$(counter backend_connect_ok)
[ "$after" = "$before" ] &&
    ok "no backend connection for refused senders (backend_connect_ok $before -> $after)" ||
    fail "backend_connect_ok went from $before to $after: a refused sender made mxguard connect to the backend"
expect_sink_count 0

# a sender no table lists, a refused recipient next to a good one
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<neutral@client.example.net>\r\nRCPT TO:<blocked@example.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n' \
    recv:4 "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 550 250 354 250 221"
expect_reply '^550 5\.1\.1 <blocked@example\.test>: Recipient address rejected: No such user here$'
expect_sink_count 1
expect_sink_contains '^X-Mail-Args: <neutral@client.example.net>$'
expect_sink_not_contains 'blocked@example.test'
finish
