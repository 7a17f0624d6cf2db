#!/bin/sh
# t_bdat_chunking_off: with chunking = no, EHLO does not offer CHUNKING; a
# BDAT command gets "502 5.5.1" and its chunk is still read and dropped,
# so command-like bytes inside it are never executed (no reply to them, no
# transaction from them); DATA works as before. A well-behaved client's
# message gets 250 alongside.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf chunking=no

raw_session recv 'send:EHLO nochunks.example.net\r\n' recv \
    'send:BDAT 12\r\nNOOP\r\nNOOP\r\n' recv \
    'send:MAIL FROM:<nochunks@client.example.net>\r\n' recv \
    'send:RCPT TO:<nochunks@example.test>\r\n' recv \
    'send:BDAT 62 LAST\r\nMAIL FROM:<x@evil.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n' \
    recv 'send:NOOP\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_no_reply '^250[- ]CHUNKING'
expect_codes "220 250 502 250 250 502 250 354 250 221"
expect_reply '^502 5\.5\.1 '
wait_sink_count 1
expect_sink_not_contains '^X-Mail-Args: <x@evil|victim@example'
expect_counter txn_started 1
good_mail chunking-off
expect_sink_count 2
finish
