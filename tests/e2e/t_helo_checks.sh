#!/bin/bash
# t_helo_checks: the helo filter on real connections: HELO syntax (on by
# default), require_fqdn, a HELO claiming to be us, and forward-confirmed
# reverse DNS against nsd's 127.in-addr.arpa zone: recorded in the
# Received header, or required (fcrdns = reject), a DNS failure being a
# 4xx and never "no name".
. "$(dirname "$0")/dnslib.sh"

DNS_TIMEOUT=1s
start_dns
start_sink
conf() {
	mxg_conf <<CONF
@BASE@
filters = helo
[helo]
$1
CONF
}

note "defaults: only the syntax is checked"
conf ""
start_mxguard
raw_session --from 127.0.0.3 r "s:EHLO bad..name\r\n" r "s:EHLO -dash.example.test\r\n" r \
    "s:HELO under_score.example.test\r\n" r "s:EHLO 192.0.2.9\r\n" r \
    "s:EHLO [127.0.0.3]\r\n" r "s:EHLO [IPv6:2001:db8::1]\r\n" r \
    "s:EHLO [1.2.3]\r\n" r "s:EHLO localhostish\r\n" r "s:QUIT\r\n" r
expect_reply '^S: 501 5\.5\.2 <bad\.\.name>: Helo command rejected: Invalid name'
expect_reply '^S: 501 5\.5\.2 <-dash\.example\.test>: Helo command rejected'
expect_reply '^S: 250 .*'
expect_reply '^S: 501 5\.5\.2 <\[1\.2\.3\]>: Helo command rejected'
[ "$(grep -c '^S: 250[ -]' "$LAST" | head -1)" -ge 5 ] && ok "five good names accepted" ||
    fail "good names were refused: $(grep '^S: 5' "$LAST")"
expect_log 'decision verdict=reject by=helo stage=helo code=501 enh=5\.5\.2 reason="invalid HELO name"'
swaks_send --helo mail.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_sink_contains '^Received: from mail\.example\.test \(unknown \[127\.0\.0\.3\]\)'
expect_counter helo_invalid 3

note "require_fqdn, reject_our_name"
conf "require_fqdn = yes
reject_our_name = yes
our_names = mx.example.org, backup.example.org
our_addresses = 192.0.2.25, 2001:db8::25"
restart_mxguard
raw_session --from 127.0.0.3 r "s:EHLO localhostish\r\n" r \
    "s:EHLO MX.example.org.\r\n" r "s:EHLO [192.0.2.25]\r\n" r \
    "s:EHLO 192.0.2.25\r\n" r "s:EHLO [IPv6:2001:db8::25]\r\n" r \
    "s:EHLO [192.0.2.26]\r\n" r "s:QUIT\r\n" r
expect_reply '^S: 504 5\.5\.2 <localhostish>: Helo command rejected: need fully-qualified hostname'
expect_reply '^S: 554 5\.7\.1 <MX\.example\.org\.>: Helo command rejected: You are not me'
expect_reply '^S: 554 5\.7\.1 <\[192\.0\.2\.25\]>: Helo command rejected: You are not me'
expect_reply '^S: 554 5\.7\.1 <192\.0\.2\.25>: Helo command rejected'
expect_reply '^S: 554 5\.7\.1 <\[IPv6:2001:db8::25\]>: Helo command rejected'
expect_reply '^S: 250[ -]'
expect_counter helo_claims_us 4
expect_counter helo_not_fqdn 1

note "fcrdns = record: the verified name goes into the Received header"
conf "fcrdns = record"
restart_mxguard
swaks_send --local-interface 127.0.0.3 --header "X-Case: confirmed"
expect_reply '^<- +250 .*(queued|Ok)'
expect_sink_contains '^Received: from mail\.example\.test \(mail\.example\.test \[127\.0\.0\.3\]\)'
expect_log 'helo: client 127\.0\.0\.3 is mail\.example\.test \(forward-confirmed\)'
swaks_send --local-interface 127.0.0.7 --helo forged.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_sink_contains '^Received: from forged\.example\.test \(unknown \[127\.0\.0\.7\]\)'
expect_log 'helo: client 127\.0\.0\.7 has no forward-confirmed name'
swaks_send --local-interface 127.0.0.13 --helo mx13.example.test
expect_sink_contains '^Received: from mx13\.example\.test \(mx13\.example\.test \[127\.0\.0\.13\]\)'
expect_counter fcrdns_confirmed 2
expect_counter fcrdns_unconfirmed 1

note "fcrdns = reject: no verified name 550 5.7.25; a DNS failure 451 4.7.25"
conf "fcrdns = reject"
restart_mxguard
swaks_send --local-interface 127.0.0.7 --helo forged.example.test
expect_reply '^<\*\* +550 5\.7\.25 Client host rejected: cannot find your hostname, \[127\.0\.0\.7\]'
swaks_send --local-interface 127.0.0.2 --helo nothing.example.test
expect_reply '^<\*\* +550 5\.7\.25 Client host rejected'
expect_log 'reason="no forward-confirmed reverse name \(no PTR record\)"'
swaks_send --local-interface 127.0.0.14 --helo host.timeout.test
expect_reply '^<\*\* +451 4\.7\.25 Client host rejected: cannot find your hostname, \[127\.0\.0\.14\], try again later'
swaks_send --local-interface 127.0.0.3
expect_reply '^<- +250 .*(queued|Ok)'
# swaks retries with HELO after a refused EHLO: two verdicts each
expect_counter fcrdns_rejected 6
expect_counter fcrdns_error 1
finish
