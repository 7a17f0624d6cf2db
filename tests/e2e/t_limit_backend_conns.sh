#!/bin/sh
# t_limit_backend_conns: max_backend_connections = 1, backend_wait = 2s.
# While session A holds the only backend connection (MAIL and RCPT done),
# session B's MAIL waits about 2 s and then gets "451 4.3.2" (counter
# limit_backend_conns, decision by=limit:max_backend_connections); session
# C's MAIL waits too, and when A's message is done A's connection goes to
# C at once: C gets 250 and its message is relayed. Both messages reach
# the sink; B's never started.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf max_backend_connections=1 backend_wait=2s \
    backend_probe_interval=600s
MSG=$TESTDATA/msgs/small.eml
RAW_TIMEOUT=20

hraw_bg recv 'send:EHLO a.example.net\r\n' recv \
    'send:MAIL FROM:<a@client.example.net>\r\n' recv \
    'send:RCPT TO:<a@example.test>\r\n' recv "mark:$T/a.held" \
    "waitfile:$T/a.go" 'send:DATA\r\n' recv "senddata:$MSG" recv \
    'send:QUIT\r\n' recv
PA=$RAW_PID OA=$RAW_OUT
wait_for 10 "[ -f $T/a.held ]" || fatal "session A did not get its backend connection"

hraw recv 'send:EHLO b.example.net\r\n' recv time \
    'send:MAIL FROM:<b@client.example.net>\r\n' recv time 'send:QUIT\r\n' recv
expect_codes "220 250 451 221"
expect_reply '^451 4\.3\.2 '
mapfile -t tt < <(sed -n 's/^=== time //p' "$LAST")
d=$(echo "${tt[1]} - ${tt[0]}" | bc)
[ "$(echo "$d >= 1.9" | bc)" = 1 ] && [ "$(echo "$d < 10" | bc)" = 1 ] &&
    ok "B waited $d s (backend_wait 2s) before its 451" ||
    fail "B got its reply after $d s, want about 2 s (backend_wait)"
expect_counter limit_backend_conns 1
expect_log 'decision verdict=tempfail by=limit:max_backend_connections stage=mail code=451'

hraw_bg recv 'send:EHLO c.example.net\r\n' recv time \
    'send:MAIL FROM:<c@client.example.net>\r\n' recv time \
    'send:RCPT TO:<c@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$MSG" recv 'send:QUIT\r\n' recv
PC=$RAW_PID OC=$RAW_OUT
wait_for 10 "grep -q '^>>> .*MAIL FROM:<c@' $OC" || fail "C did not send MAIL"
touch "$T/a.go"
RAW_PID=$PA RAW_OUT=$OA raw_wait 20
expect_codes "220 250 250 250 354 250 221"
RAW_PID=$PC RAW_OUT=$OC raw_wait 20
expect_codes "220 250 250 250 354 250 221"
expect_counter limit_backend_conns 1
wait_sink_count 2
expect_sink_contains '^X-Mail-Args: <a@client'
expect_sink_contains '^X-Mail-Args: <c@client'
good_mail after
expect_sink_count 3
finish
