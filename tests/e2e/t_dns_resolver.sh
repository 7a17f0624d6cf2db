#!/bin/bash
# t_dns_resolver: the one resolver's configuration: checked with FILE:LINE
# at load (mxguard -t and on reload, where a bad value leaves the running
# one in place), kept with its cache across a reload that does not change
# it, rebuilt when its keys change; DNSSEC validation, where an answer that
# does not validate is a temporary error, never "not listed".
. "$(dirname "$0")/dnslib.sh"

start_dns
start_sink
conf() {
	mxg_conf <<CONF
@BASE@
$1
filters = dnsbl
[dnsbl]
sites = dnsbl.test
CONF
}

note "mxguard -t: bad resolver keys are reported with FILE:LINE"
conf "dns_servers = 127.0.0.1@$DNS_PORT, not-an-address"
MXG_PORT=25
_mxg_conf_fill
sed -i '/^dns_servers = 127.0.0.1@[0-9]*$/d' "$MXG_CONF"
"$MXGUARD" -t -c "$MXG_CONF" > "$T/t.out" 2>&1 && fail "mxguard -t accepted a bad dns_servers"
grep -q "mxguard.conf:[0-9]*: dns_servers: \"not-an-address\"" "$T/t.out" &&
    ok "dns_servers error with FILE:LINE" || fail "no FILE:LINE error: $(cat "$T/t.out")"
conf "dns_dnssec = yes
dns_trust_anchor_file = $T/missing.key"
_mxg_conf_fill
"$MXGUARD" -t -c "$MXG_CONF" > "$T/t.out" 2>&1 && fail "mxguard -t accepted a missing trust anchor"
grep -q "mxguard.conf:[0-9]*: dns_trust_anchor_file: .*missing.key" "$T/t.out" &&
    ok "dns_trust_anchor_file error with FILE:LINE" || fail "no FILE:LINE error: $(cat "$T/t.out")"

note "start, look up, reload unchanged: the context and its cache stay"
conf ""
start_mxguard
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'
reload_mxguard
expect_no_log 'dns: resolver settings changed'
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'
expect_counter dns_cache_hit -ge 1

note "a reload with a bad value is refused; the running resolver stays"
DNS_UNBLOCK="test, bad..zone" conf ""
DNS_UNBLOCK="test, bad..zone" reload_mxguard
expect_log 'mxguard.conf:[0-9]*: dns_unblock_zones: "bad\.\.zone" is not a zone name'
expect_log 'reload failed'
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'

note "a reload that changes the resolver's keys builds a new context"
conf ""
DNS_UNBLOCK="test, 127.in-addr.arpa, invalid" reload_mxguard
wait_log 'dns: resolver settings changed'
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'

note "DNSSEC: test. is said to be signed and is not: no answer validates"
# a DS for test. that nothing matches: every answer under it is bogus
printf 'test. 3600 IN DS 12345 13 2 %s\n' \
    "49fd46e6c4b45c55d4ac49fd46e6c4b45c55d4ac49fd46e6c4b45c55d4ac4a2b" \
    > "$T/test.ds"
conf "dns_dnssec = yes
dns_trust_anchor_file = $T/test.ds"
restart_mxguard
swaks_send --local-interface 127.0.0.2
expect_reply '421 4\.7\.1 .*list lookup failed'
swaks_send --local-interface 127.0.0.3
expect_reply '421 4\.7\.1 .*list lookup failed'
expect_no_reply '^<- +250 .*(queued|Ok)'
expect_counter dns_servfail -ge 2
finish
