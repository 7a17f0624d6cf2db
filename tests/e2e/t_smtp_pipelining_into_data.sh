#!/bin/sh
# t_smtp_pipelining_into_data: a client that sends MAIL, RCPT, DATA and
# the message in one write, without waiting for 354 (RFC 2920 3.1 forbids
# it; spamware and smuggling probes do it): every command still gets its
# reply, in order -- 250, 250, then 554 5.5.0 for DATA and 421 -- the
# connection is closed, and nothing reaches the backend.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
RAW_TIMEOUT=5
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<early@client.example.net>\r\nRCPT TO:<user@example.test>\r\nDATA\r\nSubject: too early\r\n\r\nbody\r\n.\r\n' \
    eof
grep -q '^!!! timeout' "$LAST" &&
    fail "mxguard stopped answering: no reply and no close within 5 s"
expect_codes_match '^220 250 250 250 554 421$'
expect_reply '^554 5\.5\.0 '
expect_log 'decision verdict=reject by=limit:pipelining stage=mail code=554 enh=5\.5\.0'
wait_log ' disconnect reason=' 5
expect_counter cmd_pipelining_violation 1
expect_sink_count 0

# the same with a recipient mxguard refuses itself: DATA gets 554 (no
# valid recipients); the message lines are then either mere (unknown)
# commands or the session is ended (Postfix: "221 2.7.0 Error: I can break
# rules, too"); no 354, nothing delivered
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<early@client.example.net>\r\nRCPT TO:<x@other.example>\r\nDATA\r\nSubject: too early\r\n\r\nbody\r\n.\r\nQUIT\r\n' \
    eof
grep -q '^!!! timeout' "$LAST" &&
    fail "mxguard stopped answering: no reply and no close within 5 s"
expect_codes_match '^220 250 250 554 554( 50[0-9])* (221|421)$'
expect_sink_count 0
finish
