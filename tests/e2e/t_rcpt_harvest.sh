#!/bin/sh
# t_rcpt_harvest: directory-harvest protection. Unknown recipients count
# per session and per client address: past harvest_tarpit_after each 550
# is delayed, at harvest_disconnect_after the session is closed after the
# reply, and a client over harvest_ip_limit gets 451 4.7.1 at once for any
# recipient (valid ones too) and is disconnected, before any lookup or
# callout could reach the primary.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
mxg_conf h <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T
filters = rcpt
[rcpt]
callout_domains = example.test
catchall_detect = no
harvest_tarpit_after = 2
harvest_tarpit_delay = 1s
harvest_disconnect_after = 5
harvest_ip_limit = 8/1d
EOF2
start_mxguard h "$T/h.conf"
wait_log h 'primary .* is up'

smtp_session h --timing --rcpt alice@example.test --rcpt u1@example.test \
    --rcpt u2@example.test --rcpt u3@example.test --rcpt u4@example.test \
    --rcpt u5@example.test --rcpt u6@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt u1@example.test '550 5\.1\.1 '
expect_rcpt u2@example.test '550 5\.1\.1 '
expect_rcpt u3@example.test '550 5\.1\.1 '
expect_rcpt u5@example.test '550 5\.1\.1 '
expect_last '^CLOSED before RCPT <u6@example.test>|^CLOSED after RCPT <u6@example.test>'
# the first two at once, the next ones after the tarpit delay
ms() { printf '%s\n' "$LAST" | sed -n "s/^RCPT <$1> .*(\([0-9]*\)ms)\$/\1/p"; }
[ "$(ms u2@example.test)" -lt 900 ] && ok "u2 answered at once ($(ms u2@example.test) ms)" ||
    fail "u2 took $(ms u2@example.test) ms"
for u in u3 u4 u5; do
	[ "$(ms $u@example.test)" -ge 900 ] && ok "$u tarpitted ($(ms $u@example.test) ms)" ||
	    fail "$u answered in $(ms $u@example.test) ms, want >= 1000"
done
expect_log h 'reason="callout: 550 5\.1\.1 .*; 5 unknown recipients in this session: disconnecting"'
expect_counter h harvest_tarpit -eq 3
expect_counter h harvest_disconnect -eq 1
calls=$(counter h callout_started)

note "the per-client limit (8 a day): 3 more, then everyone is refused"
smtp_session h --rcpt v1@example.test --rcpt v2@example.test \
    --rcpt v3@example.test --rcpt alice@example.test --rcpt bob@example.test
expect_rcpt v3@example.test '550 5\.1\.1 '
expect_rcpt alice@example.test '451 4\.7\.1 .*Too many unknown recipients from \[127\.0\.0\.1\]'
expect_last '^CLOSED (before|after) RCPT <bob@example.test>'
smtp_session h --rcpt w1@example.test
expect_rcpt w1@example.test '451 4\.7\.1 '
expect_counter h harvest_ip_blocked -eq 2
expect_counter h callout_started -eq $((calls + 3))
expect_log h 'reason="harvest: 8 unknown recipients per 86400s from \[127\.0\.0\.1\] reached"'
finish
