#!/bin/sh
# t_limit_errors_delay: a client that keeps making mistakes. With
# soft_error_limit = 2, error_delay = 1s and max_errors = 6, its first two
# error replies come at once, the 3rd after at least 1 s, the 4th after at
# least 2 s, the 5th after at least 3 s (counter limit_error_delay), and
# its 6th error ends the session with "421 4.7.0 ... too many errors"
# (counter limit_max_errors). The delay holds back only that session: a
# well-behaved client's message, sent while the other is held, gets 250
# within a few seconds and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf soft_error_limit=2 error_delay=1s max_errors=6
RAW_TIMEOUT=20

steps=()
for i in 1 2 3 4 5 6; do
	steps+=(time "send:BOGUS$i\\r\\n" recv)
done
hraw_bg recv 'send:EHLO errors.example.net\r\n' recv "${steps[@]}" time eof
wait_for 10 "grep -q '^<<< 502 .*' $RAW_OUT" || fail "no first error reply"
wait_for 10 "[ \$(grep -c '^<<< 502 ' $RAW_OUT) -ge 3 ]" || fail "no third error reply"
# the erring session is now held back (4th reply: 2 s); a good client
good_mail during-delay
[ "$GOOD_MS" -lt 5000 ] && ok "the good client was not held back (${GOOD_MS} ms)" ||
    fail "the good client took ${GOOD_MS} ms while another session was tarpitted"
raw_wait 30
expect_codes "220 250 502 502 502 502 502 502 421"
expect_reply '^421 4\.7\.0 .*too many errors'
# delays: time before each send and after each reply
mapfile -t tt < <(sed -n 's/^=== time //p' "$LAST")
for i in 1 2 3 4 5; do
	d=$(echo "${tt[$i]} - ${tt[$((i - 1))]}" | bc)
	want=$((i > 2 ? i - 2 : 0))
	if [ "$(echo "$d >= $want - 0.05" | bc)" = 1 ] &&
	    { [ "$want" -gt 0 ] || [ "$(echo "$d < 0.9" | bc)" = 1 ]; }; then
		ok "error $i: reply after $d s (delay step $want s)"
	else
		fail "error $i: reply after $d s, want $([ "$want" = 0 ] && echo "< 0.9" || echo ">= $want") s"
	fi
done
expect_counter limit_error_delay -ge 3
expect_counter limit_max_errors 1
expect_log 'decision verdict=reject by=limit:max_errors'
good_mail after
expect_sink_count 2
finish
