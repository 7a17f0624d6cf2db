#!/bin/bash
# t_allowlist: client networks (a Postfix cidr: table, postscreen "permit"
# values) and sender domains (access-table text) that skip the DNS checks
# listed after the allowlist; entries that are not allowlist actions are
# reported at load and ignored.
. "$(dirname "$0")/dnslib.sh"

start_dns
start_sink
cat > "$T/clients.cidr" <<EOF
# as postscreen_access.cidr writes it
127.0.0.2/32	permit
127.0.0.10	reject
127.0.0.11	dunno
127.0.0.0/24	OK
EOF
cat > "$T/senders" <<EOF
friend.example.test	OK
EOF
mxg_conf <<CONF
@BASE@
filters = allowlist, dnsbl, spf
[allowlist]
clients = cidr:$T/clients.cidr
senders = hash:$T/senders
[dnsbl]
sites = dnsbl.test=127.0.0.[2..11]
CONF

note "mxguard -t reports the entry that is not an allowlist action"
_mxg_conf_fill
"$MXGUARD" -t -c "$MXG_CONF" > "$T/check.out" 2>&1
if grep -q "clients.cidr:3: warning: \"reject\" is not an allowlist action" "$T/check.out"; then
	ok "warning with FILE:LINE"
else
	fail "no warning for the reject entry: $(cat "$T/check.out")"
fi
start_mxguard

note "127.0.0.2 is listed in dnsbl.test but allowlisted: no DNSBL, no SPF"
swaks_send --local-interface 127.0.0.2 --from someone@fail.example.test \
    --helo other.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_log 'allowlist: client 127\.0\.0\.2 in .*clients\.cidr'

note "127.0.0.10: its entry (first match) says reject, not an allowlist action"
swaks_send --local-interface 127.0.0.10
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'

note "127.0.0.11: DUNNO stops the lookup: the checks apply"
swaks_send --local-interface 127.0.0.11
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'

note "an allowlisted sender domain skips SPF (its record fails everyone)"
cat > "$T/clients.cidr" <<EOF
127.0.0.2/32	permit
EOF
restart_mxguard
swaks_send --from friend@friend.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_log 'allowlist: sender friend@friend\.example\.test in'
swaks_send --from someone@fail.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for fail\.example\.test'
expect_counter allowlist_sender 1
finish
