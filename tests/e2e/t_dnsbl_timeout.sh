#!/bin/bash
# t_dnsbl_timeout: a list that never answers (timeout.test goes to a server
# that reads and never replies). All zones are asked at once with one
# deadline (dns_timeout); the answer is not waited for when it cannot
# change the outcome; when it can, the client gets 421 (dns_error =
# tempfail), or with dns_error = ignore it is scored without that list.
# A timeout is never taken for "not listed" silently.
. "$(dirname "$0")/dnslib.sh"

DNS_TIMEOUT=1500ms
start_dns
start_sink

conf() {	# conf WEIGHT DNS_ERROR
	mxg_conf <<CONF
@BASE@
filters = dnsbl
[dnsbl]
sites = dnsbl.test*2, bl.timeout.test*$1
threshold = 2
dns_error = $2
CONF
}

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

conf 1 tempfail
start_mxguard

note "weight 1: the silent list cannot reach the threshold: no waiting"
t0=$(date +%s%N)
swaks_send --local-interface 127.0.0.3
ms=$(ms_since "$t0")
expect_reply '^<- +250 .*(queued|Ok)'
[ "$ms" -lt 1200 ] && ok "answered in ${ms} ms" ||
    fail "took ${ms} ms: waited for a list that could not matter"

note "a listing of weight 2 decides alone: no waiting either"
t0=$(date +%s%N)
swaks_send --local-interface 127.0.0.2
ms=$(ms_since "$t0")
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'
[ "$ms" -lt 1200 ] && ok "answered in ${ms} ms" || fail "took ${ms} ms"

note "weight 2: the silent list could list the client: 421 at the deadline"
conf 2 tempfail
restart_mxguard
t0=$(date +%s%N)
swaks_send --local-interface 127.0.0.3
ms=$(ms_since "$t0")
expect_reply '421 4\.7\.1 .*list lookup failed'
expect_log 'decision verdict=tempfail by=dnsbl stage=connect code=421 enh=4\.7\.1 .*bl\.timeout\.test=error\(timeout\)'
expect_counter dnsbl_tempfailed 1
expect_counter dns_timeout 1
[ "$ms" -ge 1400 ] && [ "$ms" -lt 4000 ] && ok "421 after ${ms} ms (one deadline)" ||
    fail "421 after ${ms} ms, want about 1500"

note "dns_error = ignore: scored without the silent list, logged"
conf 2 ignore
restart_mxguard
swaks_send --local-interface 127.0.0.3
expect_reply '^<- +250 .*(queued|Ok)'
expect_log 'dnsbl: client 127\.0\.0\.3: lookup failure ignored \(dns_error = ignore\): .*bl\.timeout\.test=error\(timeout\)'

expect_sink_count 2
expect_counter dnsbl_error_ignored 1
expect_counter dns_timeout 1
finish
