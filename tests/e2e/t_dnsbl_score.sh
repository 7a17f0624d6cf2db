#!/bin/bash
# t_dnsbl_score: postscreen_dnsbl_sites scoring against a real DNS server.
# Clients connect from different loopback addresses, each listed (or not)
# in dnsbl.test / dnswl.test (tests/e2e/zones): listed clients get 554
# 5.7.1 at connect with the public zone name from reply_map, allowlisted
# ones skip the other filters, error codes and bad answers are never
# listings, IPv6 clients are asked by nibbles.
. "$(dirname "$0")/dnslib.sh"

start_dns
start_sink
printf 'dnsbl.test public-bl.example\n' > "$T/reply_map"
# every sender is refused by the access filter after dnsbl: only an
# allowlisted client gets through to the backend
printf 'example.test REJECT not allowlisted\n' > "$T/sender_access"
mxg_conf <<CONF
listen = 127.0.0.1:@PORT@, [::1]:@PORT@
backend = 127.0.0.1:@BACKEND_PORT@
relay_domains = example.org
log_level = @LOG_LEVEL@
@DNS@
filters = dnsbl, access
[dnsbl]
sites = dnsbl.test=127.0.0.[2..10]*2
	dnswl.test=127.0.[0..255].[1..3]*-3
threshold = 2
allowlist_threshold = -2
reply_map = texthash:$T/reply_map
[access]
sender = hash:$T/sender_access
CONF
start_mxguard

note "127.0.0.2: the RFC 5782 test point, listed: 554 at connect"
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*Service unavailable; Client host \[127\.0\.0\.2\] blocked using public-bl\.example'
expect_no_reply 'dnsbl\.test'
expect_log 'decision verdict=reject by=dnsbl stage=connect code=554 enh=5\.7\.1 reason="dnsbl score 2 >= 2: dnsbl\.test=127\.0\.0\.2 dnswl\.test=-"'

note "again: answered from mxguard's answer cache, same verdict"
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using public-bl\.example'
expect_counter dns_cache_hit -ge 2

note "127.0.0.3: in no list: the next filter decides"
swaks_send --local-interface 127.0.0.3
expect_reply '^<\*\* +554 5\.7\.1 <someone@mail\.example\.test>: Sender address rejected'

note "127.0.0.6: in dnswl.test (-3 <= -2): allowlisted, access is skipped"
swaks_send --local-interface 127.0.0.6
expect_reply '^<- +250 .*(queued|Ok)'
expect_log 'dnsbl: client 127\.0\.0\.6 allowlisted, score -3'

note "127.0.0.10: three codes in dnsbl (+2) and dnswl (-3): -1, neither"
swaks_send --local-interface 127.0.0.10
expect_reply 'Sender address rejected'

note "127.0.0.11: 127.0.0.11 is outside the filter [2..10]: not listed"
swaks_send --local-interface 127.0.0.11
expect_reply 'Sender address rejected'

note "127.0.0.4: 127.255.255.254 is an error, never a listing: 421"
swaks_send --local-interface 127.0.0.4
expect_reply '421 4\.7\.1 .*list lookup failed'
expect_log 'dnsbl: dnsbl\.test answered 127\.255\.255\.254: the list refuses us'
expect_log 'decision verdict=tempfail by=dnsbl stage=connect .*dnsbl\.test=error\(127\.255\.255\.254\)'

note "127.0.0.12: 127.255.255.255 (over quota): an error too"
swaks_send --local-interface 127.0.0.12
expect_reply '421 4\.7\.1'

note "127.0.0.5: an answer outside 127/8 is ignored (RFC 5782 2.1)"
swaks_send --local-interface 127.0.0.5
expect_reply 'Sender address rejected'
expect_log 'dnsbl: dnsbl\.test answered 1 address\(es\) outside 127\.0\.0\.0/8'

note "::1: an IPv6 client is asked by its 32 nibbles"
raw_session --ipv6 r close
expect_reply '^S: 554 5\.7\.1 .*Client host \[::1\] blocked using public-bl\.example'

expect_sink_count 1
expect_counter dnsbl_rejected 3
expect_counter dnsbl_allowlisted 1
expect_counter dnsbl_error_reply 2
expect_counter dnsbl_tempfailed 2
expect_counter dnsbl_invalid_reply 1
finish
