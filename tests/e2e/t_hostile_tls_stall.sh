#!/bin/sh
# t_hostile_tls_stall: TLS handshakes that stop midway. After "220 Ready
# to start TLS" a client that sends nothing, one that sends half a
# ClientHello and stalls, and one that sends a whole ClientHello and then
# never answers the server's flight, are each cut off by the timeout (3 s
# here) and the connection is closed within seconds (counter
# conn_timeout, log "timeout while in the TLS handshake"). Meanwhile
# well-behaved clients, in clear and over STARTTLS, get 250 for their
# messages, which reach the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

gen_cert
start_sink
start_mxguard plain.conf "tls_cert_file=$TLS_CERT" "tls_key_file=$TLS_KEY" \
    timeout_greeting=3s timeout_command=3s
RAW_TIMEOUT=20
CAP=12

hraw_bg recv 'send:EHLO stall.example.net\r\n' recv 'send:STARTTLS\r\n' recv \
    time eof time
P1=$RAW_PID O1=$RAW_OUT
hraw_bg recv 'send:EHLO stall.example.net\r\n' recv 'send:STARTTLS\r\n' recv \
    time tlshello:60 eof time
P2=$RAW_PID O2=$RAW_OUT
hraw_bg recv 'send:EHLO stall.example.net\r\n' recv 'send:STARTTLS\r\n' recv \
    time tlshello:100000 eof time
P3=$RAW_PID O3=$RAW_OUT
wait_for 10 "[ \$(grep -l '^<<< 220 2.0.0 Ready' $O1 $O2 $O3 | wc -l) = 3 ]" ||
    fail "the stalling clients did not get to STARTTLS"
good_mail tls-stall-clear
good_mail tls-stall-tls --tls

for n in 1 2 3; do
	RAW_PID=$(eval echo "\$P$n") RAW_OUT=$(eval echo "\$O$n") raw_wait 30
	t0=$(sed -n 's/^=== time //p' "$LAST" | head -n 1)
	t1=$(sed -n 's/^=== time //p' "$LAST" | sed -n 2p)
	if grep -q '^=== EOF' "$LAST" && [ -n "$t1" ] &&
	    [ "$(echo "$t1 - $t0 < $CAP" | bc)" = 1 ]; then
		ok "stall $n: closed $(echo "$t1 - $t0" | bc) s after the 220 to STARTTLS"
	else
		fail "stall $n: not closed within ${CAP} s of the 220 to STARTTLS"
	fi
done
expect_log 'timeout while in the TLS handshake'
expect_counter conn_timeout -ge 3
expect_counter tls_handshake_ok 1
good_mail after-stall
expect_sink_count 3
finish
