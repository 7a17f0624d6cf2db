#!/bin/sh
# t_hostile_long_lines_nul: over-long command lines and NUL bytes. A 1 MB
# line without any line end, then a 100 KB line, each get one "500 5.5.2"
# (counter cmd_too_long) and the session goes on (NOOP gets 250); mxguard
# holds no more than a line's worth of it (VmRSS grows by less than 8 MB;
# not checked under AddressSanitizer).
# A NUL anywhere in a command gets "500 5.5.2" (counter cmd_nul), the
# command is not executed, and the session goes on. Meanwhile, with those
# sessions open, a well-behaved client's message gets 250 and reaches the
# sink; nothing else does.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_line_length=1000 max_errors=10 error_delay=0s
rss0=$(rss_kb)
big=$T/big.line
"$PY" -c 'import sys; sys.stdout.write("X" * (1 << 20))' > "$big"
"$PY" -c 'import sys; sys.stdout.write("MAIL FROM:<" + "y" * 100000 + "@client.example.net>\r\n")' > "$T/long.line"

hraw_bg recv 'send:EHLO longline.example.net\r\n' recv \
    "sendfile:$big" 'send:\r\n' recv 'send:NOOP\r\n' recv \
    "sendfile:$T/long.line" recv 'send:NOOP\r\n' recv \
    "mark:$T/long.done" "waitfile:$T/go" 'send:QUIT\r\n' recv
wait_for 20 "[ -f $T/long.done ]" || fail "the long-line client did not get through"
rss1=$(rss_kb)
good_mail long-lines
touch "$T/go"
raw_wait 20
expect_codes "220 250 500 250 500 250 221"
expect_reply '^500 5\.5\.2 '
note "VmRSS ${rss0} KB before, ${rss1} KB after 1.1 MB of over-long lines"
if sanitized; then
	note "AddressSanitizer build: the RSS bound is not checked"
elif [ $((rss1 - rss0)) -lt $((8 << 10)) ]; then
	ok "VmRSS grew by $((rss1 - rss0)) KB"
else
	fail "VmRSS grew by $((rss1 - rss0)) KB for two over-long lines"
fi
expect_counter cmd_too_long 2

# NUL bytes: in the verb, in an address, alone, in HELO
hraw_bg recv 'send:EHLO nul.example.net\r\n' recv \
    'send:NO\0OP\r\n' recv \
    'send:MAIL FROM:<a\0b@client.example.net>\r\n' recv \
    'send:\0\0\0\r\n' recv \
    'send:HELO nul\0.example.net\r\n' recv \
    'send:MAIL FROM:<nul@client.example.net>\r\n' recv \
    "mark:$T/nul.done" "waitfile:$T/go2" 'send:QUIT\r\n' recv
wait_for 20 "[ -f $T/nul.done ]" || fail "the NUL client did not get through"
good_mail nul-bytes
touch "$T/go2"
raw_wait 20
expect_codes "220 250 500 500 500 500 250 221"
expect_counter cmd_nul 4
good_mail after
expect_sink_count 3
finish
