#!/bin/sh
# t_smtp_hostile_commands: over-long command lines get "500 5.5.2" and the
# session goes on; errors past max_errors end the session with 421; a web
# proxy probe (CONNECT/GET) or a header line sent as a command ends it at
# once; a NUL in a command is refused. Nothing reaches the backend.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf max_line_length=512 max_errors=5 error_delay=0s
long=$(printf 'x%.0s' $(seq 1 600))

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    "send:MAIL FROM:<$long@client.example.net>\\r\\n" recv \
    "send:$long$long$long\\r\\n" recv \
    'send:NOOP\r\n' recv 'send:QUIT\r\n' recv
expect_codes "220 250 500 500 250 221"
expect_reply '^500 5\.5\.2 '
expect_counter cmd_too_long 2

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:FOO\r\nBAR\r\nBAZ\r\nQUX\r\nQUUX\r\nNOOP\r\n' eof
expect_codes_match '^220 250 502 502 502 502 (502 )?421$'
expect_reply '^421 4\.7\.0 '
expect_counter limit_max_errors 1

raw_session recv 'send:CONNECT mx.example.test:25 HTTP/1.1\r\n' eof
expect_codes_match '^220 (221|5[0-9][0-9])( 221)?$'
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:Subject: a header as a command\r\n' eof
expect_codes_match '^220 250 (221|5[0-9][0-9])( 221)?$'

raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:NOOP \0\r\n' recv 'send:QUIT\r\n' recv
expect_codes "220 250 500 221"
expect_counter cmd_nul 1
expect_sink_count 0
finish
