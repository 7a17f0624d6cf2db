#!/bin/sh
# t_rcpt_defer: defer-while-primary-up. While the primary answers, a new
# transaction at the backup gets 451 4.3.0 "Please deliver to the primary
# MX"; the same client network and sender coming back after retry_min
# passes (a legitimate MTA's retry), allowlisted networks always pass, and
# while the primary is down nothing is deferred.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
mkdir -p "$T/s1" "$T/s2"
mxg_conf d <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T/s1
filters = defer
[defer]
retry_min = 2s
allow_networks = 192.0.2.0/24
EOF2
start_mxguard d "$T/d.conf"
wait_log d 'primary .* is up'

smtp_session d --from first@sender.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.3\.0 Please deliver to the primary MX'
expect_log d 'decision verdict=tempfail by=defer stage=mail code=451 enh=4\.3\.0 reason="primary \[127\.0\.0\.1\]:[0-9]+ is up; client network 127\.0\.0\.0/24 sender <first@sender\.example> deferred"'
smtp_session d --from first@sender.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.3\.0 '
expect_log d 'retried too soon'
note "the retry after retry_min passes"
try_retry() {
	smtp_session d --from First@Sender.Example --rcpt alice@example.test --data - >/dev/null
	printf '%s\n' "$LAST" | grep -q '^EOM 250 '
}
wait_for 15 try_retry && ok "the retry was accepted and delivered" ||
    fail "the retry never passed: $LAST"
expect_log d 'defer: client network 127\.0\.0\.0/24 sender <first@sender\.example> passes: a retry [0-9]+s after its deferral'
smtp_session d --from first@sender.example --rcpt bob@example.test
expect_rcpt bob@example.test '250 '
smtp_session d --from other@sender.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.3\.0 '
expect_counter d defer_deferred -ge 3
expect_counter d defer_retry_passed -ge 2

note "allowlisted networks pass at once"
mxg_conf al <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T/s2
filters = defer
[defer]
allow_networks = 10.0.0.0/8, 127.0.0.0/8
EOF2
start_mxguard al "$T/al.conf"
wait_log al 'primary .* is up'
smtp_session al --from new@sender.example --rcpt alice@example.test
expect_rcpt alice@example.test '250 '
expect_counter al defer_allowlisted -eq 1

note "primary down: nothing is deferred"
stop_primary
wait_log d 'primary .* is down' 15
smtp_session d --from brand-new@sender.example --rcpt alice@example.test --data -
expect_rcpt alice@example.test '250 '
expect_last '^EOM 250 '
note "primary back: deferring again"
restart_primary
wait_log d 'primary .* is up \(was down' 15
smtp_session d --from newer@sender.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.3\.0 '
backup_flush
wait_for 30 '[ "$(backup_queue)" = 0 ]' || fail "the backup kept $(backup_queue) messages"
expect_no_bounce
finish
