#!/bin/bash
# t_rhsbl: domain lists (a DBL-style zone, dbl.test) for the HELO name and
# the sender domain, same syntax and scoring as the DNSBL: listed names
# get 554 5.7.1 at HELO or MAIL, the RFC 5782 test point "test" is listed,
# an error code (127.0.1.255) is a 451, never a listing. A HELO name too
# long to be asked in the zone (name.dbl.test > 253 octets) is not listed
# and answered at once (no query, so nothing would ever call back: before
# the fix the filter's deadline gave 451 4.7.0).
. "$(dirname "$0")/dnslib.sh"

start_dns
start_sink
mxg_conf <<CONF
@BASE@
filters = rhsbl
[rhsbl]
sites = dbl.test=127.0.1.[2..99]
timeout = 3s
CONF
start_mxguard

note "a listed HELO name: 554 at HELO"
raw_session --from 127.0.0.3 r "s:EHLO bad-helo.example.test\r\n" r "s:QUIT\r\n" r
expect_reply '^S: 554 5\.7\.1 Service unavailable; Helo command \[bad-helo\.example\.test\] blocked using dbl\.test'

note "a listed sender domain: 554 at MAIL"
swaks_send --from someone@spammer.example.test
expect_reply '^<\*\* +554 5\.7\.1 Service unavailable; Sender address \[someone@spammer\.example\.test\] blocked using dbl\.test'
expect_log 'decision verdict=reject by=rhsbl stage=mail code=554 enh=5\.7\.1 reason="rhsbl score 1 >= 1: dbl\.test=127\.0\.1\.2"'

note "RFC 5782 5: TEST is listed, INVALID is not"
swaks_send --from someone@test
expect_reply '^<\*\* +554 5\.7\.1 .*blocked using dbl\.test'
swaks_send --from someone@invalid --helo mail.example.test
expect_reply '^<- +250 .*(queued|Ok)'

note "an error code is not a listing: 451"
swaks_send --from someone@err.example.test
expect_reply '^<\*\* +451 4\.7\.1 <someone@err\.example\.test>: Sender address list lookup failed'

note "a HELO name too long to look up: not listed, answered at once"
l63=$(printf 'a%.0s' $(seq 1 63))
long="$l63.$l63.$l63.$(printf 'b%.0s' $(seq 1 52)).test"
note "HELO name of ${#long} octets"
raw_session --from 127.0.0.3 r "s:EHLO $long\r\n" r "s:QUIT\r\n" r
expect_reply '^S: 250[- ]'
expect_no_reply '^S: 4'

note "clean names pass"
swaks_send --from someone@mail.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_counter rhsbl_rejected 3
expect_counter rhsbl_tempfailed 1
finish
