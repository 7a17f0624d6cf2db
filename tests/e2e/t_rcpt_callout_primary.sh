#!/bin/sh
# t_rcpt_callout_primary: the reason mxguard exists. A real Postfix is the
# primary (alice, bob, carol known; catchall.test catch-all), a real
# Postfix is the backup behind mxguard. Unknown recipients are rejected at
# RCPT with the primary up (callout) and, from the cache, with it down;
# a recipient with no cached answer is tempfailed while it is down; the
# backup never gets the unknown ones and never bounces anything; what it
# queued during the outage reaches the primary once it is back; valid
# entries are refreshed in the background; the cache survives a restart of
# mxguard (LMDB) and can be flushed (-F).
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
mkdir -p "$T/state"
printf 'alice@other.test\nbob@other.test\ncarol@other.test\n' > "$T/other.list"
mxg_conf a <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T/state
filters = rcpt
[rcpt]
maps = list:$T/other.list
map_domains = other.test
callout_domains = example.test, catchall.test
harvest_tarpit_after = 0
positive_refresh = 1s
EOF2
start_mxguard a "$T/a.conf"

note "1. primary up: callouts"
smtp_session a --rcpt alice@example.test --rcpt Bob+Tag@Example.TEST \
    --rcpt nobody1@example.test --rcpt nobody2@example.test \
    --rcpt anyone@catchall.test --rcpt carol@other.test \
    --rcpt zed@other.test --data -
expect_rcpt alice@example.test '250 '
expect_rcpt Bob+Tag@Example.TEST '250 '
expect_rcpt nobody1@example.test '550 5\.1\.1 '
expect_rcpt nobody2@example.test '550 5\.1\.1 '
expect_rcpt anyone@catchall.test '250 '
expect_rcpt carol@other.test '250 '
expect_rcpt zed@other.test '550 5\.1\.1 .*relay recipient table'
expect_last '^EOM 250 '
expect_log a 'decision verdict=reject by=rcpt stage=rcpt code=550 enh=5\.1\.1 reason="callout: 550 5\.1\.1 .*nobody1@example\.test'
wait_log a 'catchall\.test is catch-all at the primary'
expect_counter a callout_invalid -ge 2
expect_counter a callout_valid -ge 3
wait_for 20 '[ "$(backup_queue)" = 0 ]' || fail "the backup did not deliver to the primary"
wait_for 10 'grep -q "to=<alice@example.test>.*status=sent" "$(pf_log "$PRIMARY_DIR")"' &&
    ok "the message reached the primary" || fail "alice's message never reached the primary"

note "1b. a positive entry older than positive_refresh is verified again in the background"
refreshed() {
	smtp_session a --rcpt alice@example.test >/dev/null
	printf '%s\n' "$LAST" | grep -q '^RCPT <alice@example.test> 250 ' &&
	    [ "$(counter a callout_refresh)" -ge 1 ]
}
wait_for 10 refreshed && ok "alice answered from the cache and refreshed" ||
    fail "no background refresh (callout_refresh=$(counter a callout_refresh))"

note "2. primary down: the cache answers"
stop_primary
wait_log a 'primary \[127\.0\.0\.1\]:[0-9]+ is down' 15
expect_counter a primary_went_down -ge 1
smtp_session a --rcpt alice@example.test --rcpt nobody1@example.test \
    --rcpt never@example.test --rcpt other@catchall.test \
    --rcpt zed@other.test --rcpt bob@other.test --data -
expect_rcpt alice@example.test '250 '
expect_rcpt nobody1@example.test '550 5\.1\.1 '
expect_rcpt never@example.test '450 4\.1\.1 .*unverified'
expect_rcpt other@catchall.test '250 '
expect_rcpt zed@other.test '550 5\.1\.1 '
expect_rcpt bob@other.test '250 '
expect_last '^EOM 250 '
expect_log a 'reason="cached callout answer: 550 5\.1\.1 '
expect_counter a rcpt_unverified_tempfail -ge 1
expect_counter a rcpt_cache_invalid -ge 1
# the state is visible in the metrics line
kill -USR1 "$MXG_PID_a"
wait_log a ' stats .*primary_up=0 '
# the backup holds only what mxguard accepted, waiting for the primary
wait_for 10 '[ "$(backup_queue)" = 1 ]' && ok "one message waits at the backup" ||
    fail "backup queue: $(backup_queue) messages, want 1"
postqueue -c "$BACKUP_DIR/etc" -j > "$T/queue.json" 2>/dev/null
for a in nobody1@example.test never@example.test zed@other.test; do
	if grep -q "$a" "$T/queue.json" "$(pf_log "$BACKUP_DIR")"; then
		fail "the backup saw $a"
	fi
done
grep -q 'alice@example.test' "$T/queue.json" && ok "queued for alice only" ||
    fail "alice is not in the backup's queue"

note "3. primary back: the queue drains, unknown ones are still refused"
restart_primary
wait_log a 'primary \[127\.0\.0\.1\]:[0-9]+ is up \(was down for' 15
backup_flush
wait_for 30 '[ "$(backup_queue)" = 0 ]' && ok "the backup's queue drained" ||
    fail "backup queue still holds $(backup_queue) messages"
smtp_session a --rcpt never@example.test --rcpt alice@example.test
expect_rcpt never@example.test '550 5\.1\.1 '
expect_rcpt alice@example.test '250 '
expect_no_bounce
if grep -E 'status=bounced' "$(pf_log "$PRIMARY_DIR")" >/dev/null; then
	fail "the primary bounced something"
fi

note "4. the cache survives a restart of mxguard (LMDB)"
stop_mxguard a
stop_primary
start_mxguard a "$T/a.conf"
wait_log a 'primary .* is down' 15
smtp_session a --rcpt nobody2@example.test --rcpt alice@example.test
expect_rcpt nobody2@example.test '550 5\.1\.1 '
expect_rcpt alice@example.test '250 '

note "5. flushing an address and a domain (-F), the daemon running"
out=$("$MXGUARD" -c "$T/a.conf" -F NOBODY2@example.test 2>&1)
echo "$out" | grep -q 'flushed NOBODY2@example.test: 1 entry removed' &&
    ok "-F address: $out" || fail "-F address: $out"
smtp_session a --rcpt nobody2@example.test --rcpt nobody1@example.test
expect_rcpt nobody2@example.test '450 4\.1\.1 '
expect_rcpt nobody1@example.test '550 5\.1\.1 '
out=$("$MXGUARD" -c "$T/a.conf" -F @example.test 2>&1)
echo "$out" | grep -Eq 'flushed @example.test: [0-9]+ entries removed' &&
    ok "-F domain: $out" || fail "-F domain: $out"
smtp_session a --rcpt nobody1@example.test --rcpt alice@example.test \
    --rcpt x@catchall.test
expect_rcpt nobody1@example.test '450 4\.1\.1 '
expect_rcpt alice@example.test '450 4\.1\.1 '
expect_rcpt x@catchall.test '250 '	# not flushed: another domain
"$MXGUARD" -c "$T/a.conf" -F 'not-an-address' >/dev/null 2>&1
[ $? = 2 ] && ok "-F refuses a bad target" || fail "-F took a bad target"
expect_no_bounce
finish
