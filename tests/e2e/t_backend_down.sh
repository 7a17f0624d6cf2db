#!/bin/sh
# t_backend_down: with the backend down at start mxguard still starts, and
# greets with "421 4.3.2"; it re-probes and serves once the backend is up;
# when the backend goes away later, MAIL gets "451 4.3.2" until the probe
# notices, then the greeting is 421 again. Never a 250 for MAIL.
. "$(dirname "$0")/lib.sh"

BACKEND_PORT=$(pick_port)
BACKEND_UP=0
start_mxguard plain.conf
expect_log 'backend 127\.0\.0\.1:[0-9]+ is down'
raw_session recv eof
expect_codes "421"
expect_reply '^421 4\.3\.2 mx\.example\.test '
expect_log 'decision verdict=tempfail by=backend stage=connect code=421 enh=4\.3\.2'
swaks_send --to user@example.test
expect_reply '^421 4\.3\.2 '
expect_no_reply '^250 '

# the backend comes up on the same port: mxguard finds it (it re-probes
# at least every 5 s while the backend is down) and relays again
SINK_FIXED_PORT=$BACKEND_PORT start_sink
wait_log 'backend 127\.0\.0\.1:[0-9]+ is up' 8
swaks_send --to user@example.test --data "@$TESTDATA/msgs/small.eml"
expect_reply '^250 2\.0\.0 Ok'
expect_sink_count 1

# the backend goes away: the next probe marks it down, clients get 421
stop_sink
if wait_for 10 "$PY $SMTPRAW -t 5 127.0.0.1 $MXG_PORT recv 2>/dev/null | grep -q '^<<< 421 4\.3\.2'"; then
	ok "greeting 421 4.3.2 once the probe found the backend gone"
else
	fail "10 s after the backend went away, the greeting is still not 421"
fi
expect_counter conn_refused_backend_down -ge 3
stop_mxguard

# between the backend's death and the next probe: MAIL gets 451 4.3.2
start_sink
start_mxguard plain.conf backend_probe_interval=60s
stop_sink
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<s@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:QUIT\r\n' recv
expect_codes_match '^220 250 451 5[0-9][0-9] 221$'
expect_reply '^451 4\.3\.2 '
expect_log 'decision verdict=tempfail by=backend stage=mail code=451 enh=4\.3\.2'
finish
