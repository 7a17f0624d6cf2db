#!/bin/sh
# t_hostile_after_421: after mxguard's 421 nothing a client sends gets a
# reply; the connection is closed. Three ways to a 421: too many errors
# (the commands behind it were pipelined in the same write), too many
# commands, and the command timeout (the client goes on sending after it
# has read the 421). Meanwhile a well-behaved client's message gets 250
# and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_errors=3 soft_error_limit=1 error_delay=0s \
    max_commands=10 \
    timeout_command=2s
RAW_TIMEOUT=10

# errors, then NOOP, MAIL, QUIT in the same write
hraw_bg recv 'send:EHLO after421.example.net\r\n' recv \
    'send:FOO\r\nBAR\r\nBAZ\r\nNOOP\r\nMAIL FROM:<after@client.example.net>\r\nQUIT\r\n' \
    eof
P1=$RAW_PID O1=$RAW_OUT
# too many commands (EHLO + 9 NOOPs is 10), then more
hraw_bg recv 'send:EHLO after421.example.net\r\n' recv \
    "send:$(printf 'NOOP\\r\\n%.0s' $(seq 1 12))QUIT\\r\\n" eof
P2=$RAW_PID O2=$RAW_OUT
# the timeout's 421 read first, then commands sent into the closed session
hraw_bg recv 'send:EHLO after421.example.net\r\n' recv recv \
    'send:NOOP\r\nMAIL FROM:<after@client.example.net>\r\nQUIT\r\n' eof
P3=$RAW_PID O3=$RAW_OUT
good_mail while-421

RAW_PID=$P1 RAW_OUT=$O1 raw_wait 15
expect_codes_match "^220 250 502 502 (502 )?421$"
expect_reply '^421 4\.7\.0 .*too many errors'
grep -q '^=== EOF' "$LAST" && ok "closed after the 421" || fail "not closed after the 421"
RAW_PID=$P2 RAW_OUT=$O2 raw_wait 15
expect_codes "220 250 $(printf '250 %.0s' $(seq 1 9))421"
expect_reply '^421 4\.7\.0 .*too many commands'
grep -q '^=== EOF' "$LAST" && ok "closed after the 421" || fail "not closed after the 421"
RAW_PID=$P3 RAW_OUT=$O3 raw_wait 15
expect_codes "220 250 421"
expect_reply '^421 4\.4\.2 '
grep -q '^=== EOF' "$LAST" && ok "closed after the 421" || fail "not closed after the 421"
expect_no_reply '^221 '

expect_counter limit_max_errors 1
expect_counter limit_max_commands 1
expect_counter conn_timeout 1
expect_counter txn_started 1	# the good one: no MAIL after a 421 ran
good_mail after-421
expect_sink_count 2
finish
