#!/bin/sh
# t_hostile_noread: a client that pipelines NOOP after NOOP and never
# reads a reply. mxguard stops reading from it once its replies pile up
# (the client's sends block), its memory stays bounded (VmRSS grows by
# less than 16 MB although the client offers 48 MB of commands, whose
# replies would be 110 MB), and the write timeout (timeout_command, 3 s
# here) ends the session: the client sees its connection closed or reset
# within seconds (the RSS bound is not checked under AddressSanitizer).
# Meanwhile a well-behaved client's message gets 250 and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf timeout_command=3s max_commands=10000000
rss0=$(rss_kb)

NR=$T/noread.out
"$PY" "$HOSTILE" noread --max-bytes $((48 << 20)) --hold 40 127.0.0.1 \
    "$MXG_PORT" >"$NR" 2>&1 &
NR_PID=$!
PIDS="$PIDS $NR_PID"
wait_for 60 "grep -q '^RESULT sent=' $NR" ||
    fail "the non-reading client's sends never blocked"
rss1=$(rss_kb)
sed 's/^/    /' "$NR"
sent=$(result sent "$NR")
[ "$(result blocked "$NR")" = 1 ] &&
    ok "mxguard stopped reading: the client's sends blocked after $sent bytes" ||
    fail "the client sent all $sent bytes: mxguard kept reading"
grow=$((rss1 - rss0))
note "VmRSS before ${rss0} KB, with the non-reader blocked ${rss1} KB (+${grow} KB)"
if sanitized; then
	note "AddressSanitizer build (freed memory is quarantined): the bound is not checked"
elif [ "$grow" -lt $((16 << 10)) ]; then
	ok "memory bounded: +${grow} KB"
else
	fail "VmRSS grew by ${grow} KB for one non-reading client"
fi

# meanwhile
good_mail noread-1

wait_for 45 "! kill -0 $NR_PID 2>/dev/null" || fail "the non-reader still runs"
wait "$NR_PID" 2>/dev/null
sed -n '/^RESULT closed/,$p' "$NR" | sed 's/^/    /'
after=$(result after "$NR")
if [ "$(result closed "$NR")" = 1 ] && [ "${after%.*}" -lt 20 ]; then
	ok "the session was ended ${after} s after the client stopped"
else
	fail "the non-reading client's connection was not closed within 20 s (closed=$(result closed "$NR") after=$after)"
fi
wait_log ' disconnect reason=timeout ' 5
expect_counter conn_timeout -ge 1
rss2=$(rss_kb)
note "VmRSS after the session ended: ${rss2} KB"
good_mail noread-2
expect_sink_count 2
finish
