#!/bin/sh
# t_signal_hup_under_traffic: SIGHUP several times while smtp-source sends
# many messages over parallel sessions: every reload succeeds, every
# message is accepted and arrives (sink count = sent count), none lost.
. "$(dirname "$0")/lib.sh"
command -v smtp-source >/dev/null 2>&1 || skip "smtp-source not installed"

N=600
start_sink
start_mxguard plain.conf
smtp-source -s 6 -m $N -l 2000 -f source@client.example.net \
    -t rcpt@example.test -M client.example.net "127.0.0.1:$MXG_PORT" \
    >"$T/smtp-source.out" 2>&1 &
SRC=$!
PIDS="$PIDS $SRC"

hups=0
last=0
while kill -0 $SRC 2>/dev/null && [ $hups -lt 6 ]; do
	# some traffic between two reloads
	wait_for 10 "[ \$(sink_count) -ge $((last + 40)) ] || ! kill -0 $SRC 2>/dev/null"
	kill -0 $SRC 2>/dev/null || break
	last=$(sink_count)
	sighup
	hups=$((hups + 1))
	note "SIGHUP $hups with $last messages at the sink"
done
wait_for 60 "! kill -0 $SRC 2>/dev/null" || fail "smtp-source still running after 60 s"
wait $SRC
rc=$?
[ $rc = 0 ] && ok "smtp-source exit 0" ||
    { fail "smtp-source exit $rc:"; tail -n 20 "$T/smtp-source.out"; }
grep -q 'warning\|fatal' "$T/smtp-source.out" &&
    { fail "smtp-source complained:"; grep 'warning\|fatal' "$T/smtp-source.out" | head; }
[ $hups -ge 3 ] && ok "$hups reloads under traffic" ||
    fail "only $hups reloads happened while smtp-source ran (want 3 or more)"
expect_sink_count $N
expect_counter config_reload_ok $hups
expect_counter config_reload_fail 0
expect_counter txn_accepted $N
expect_no_log 'verdict=(tempfail|reject)'
finish
