#!/bin/sh
# t_rcpt_ratelimit: flood control. Connections per client, messages per
# client and per sender domain, recipients per recipient domain: the one
# over the limit gets 4xx with the reason (421 at connect, 451 4.7.1
# after), never a silent drop; and while the primary is down at most
# outage_msg_per_domain messages per recipient domain go into the backup.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
printf 'alice@example.test\nbob@example.test\ncarol@example.test\nalice@other.test\n' \
    > "$T/users.list"
for n in c m r o; do mkdir -p "$T/s_$n"; done

note "connections per client address"
mxg_conf c <<EOF2
store = lmdb:$T/s_c
filters = ratelimit
[ratelimit]
conn_per_ip = 3/1d
EOF2
start_mxguard c "$T/c.conf"
for i in 1 2 3; do
	smtp_session c --rcpt alice@example.test
	expect_rcpt alice@example.test '250 '
done
smtp_session c --rcpt alice@example.test
expect_last '^GREETING 421 4\.7\.1 mx2\.example\.test Too many connections from \[127\.0\.0\.1\], try again later'
expect_log c 'decision verdict=tempfail by=ratelimit stage=connect code=451 enh=4\.7\.1 reason="limit conn_per_ip 3/86400s exceeded by \[127\.0\.0\.1\]"'
expect_counter c rate_conn_ip -eq 1

note "messages per client and per sender domain"
mxg_conf m <<EOF2
store = lmdb:$T/s_m
filters = ratelimit
[ratelimit]
msg_per_ip = 4/1d
msg_per_sender_domain = 2/1d
EOF2
start_mxguard m "$T/m.conf"
for i in 1 2; do
	smtp_session m --from u$i@bulk.example --rcpt alice@example.test --data -
	expect_last '^EOM 250 '
done
smtp_session m --from u3@BULK.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.7\.1 Too many messages from bulk\.example, try again later'
smtp_session m --from u4@other.example --rcpt alice@example.test
expect_last '^MAIL 250 '
smtp_session m --from u5@third.example --rcpt alice@example.test
expect_last '^MAIL 451 4\.7\.1 Too many messages from \[127\.0\.0\.1\]'
expect_counter m rate_msg_sender_domain -eq 1
expect_counter m rate_msg_ip -ge 1

note "recipients per recipient domain"
mxg_conf r <<EOF2
store = lmdb:$T/s_r
filters = ratelimit
[ratelimit]
rcpt_per_domain = 3/1d
EOF2
start_mxguard r "$T/r.conf"
smtp_session r --rcpt alice@example.test --rcpt bob@example.test \
    --rcpt carol@example.test --rcpt dave@example.test --rcpt bob@other.test
expect_rcpt carol@example.test '250 '
expect_rcpt dave@example.test '451 4\.7\.1 Too many recipients for example\.test'
expect_rcpt bob@other.test '250 '

note "the outage cap: messages into the backup per recipient domain"
mxg_conf o <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T/s_o
filters = ratelimit, rcpt
[ratelimit]
outage_msg_per_domain = 2/1h
[rcpt]
maps = list:$T/users.list
EOF2
start_mxguard o "$T/o.conf"
wait_log o 'primary .* is up'
for i in 1 2 3; do		# primary up: no cap
	smtp_session o --rcpt alice@example.test --data -
	expect_last '^EOM 250 '
done
stop_primary
wait_log o 'primary .* is down' 15
for i in 1 2; do
	smtp_session o --rcpt alice@example.test --rcpt bob@example.test --data -
	expect_rcpt bob@example.test '250 '	# one message, counted once
	expect_last '^EOM 250 '
done
smtp_session o --rcpt carol@example.test --rcpt alice@other.test --data -
expect_rcpt carol@example.test '451 4\.7\.1 Too much mail queued for example\.test while the primary MX is down'
expect_rcpt alice@other.test '250 '
expect_last '^EOM 250 '
expect_counter o rate_outage_cap -eq 1
wait_for 10 '[ "$(backup_queue)" = 3 ]' && ok "the backup holds 3 messages" ||
    fail "the backup holds $(backup_queue) messages, want 3"
restart_primary
wait_log o 'primary .* is up \(was down' 15
smtp_session o --rcpt carol@example.test
expect_rcpt carol@example.test '250 '
backup_flush
wait_for 30 '[ "$(backup_queue)" = 0 ]' || fail "the backup kept $(backup_queue) messages"
expect_no_bounce
finish
