#!/bin/bash
# t_early_talker: postscreen's pregreet and pipelining tests as mxguard
# does them (greet_delay, early_talker, pipelining_violation): a client
# that talks between "220-" and "220 " is refused with 554 5.5.0 and
# counted; so is a HELO client that pipelines two commands in one write
# (PIPELINING is only offered after EHLO); polite clients (swaks, with and
# without PIPELINING) pass with greet_delay set, DNS checks included.
. "$(dirname "$0")/dnslib.sh"

start_dns
start_sink
mxg_conf <<CONF
@BASE@
greet_delay = 1s
filters = dnsbl
[dnsbl]
sites = dnsbl.test
CONF
start_mxguard

note "a client that speaks after \"220-\" and before \"220 \""
raw_session --from 127.0.0.3 r1 "s:EHLO early.example.test\r\n" close
expect_reply '^S: 220-'
expect_reply '^S: 554 5\.5\.0 .*Error: SMTP protocol violation \(you talked before the greeting\)'
expect_reply '^closed'
expect_no_reply '^S: 250'
expect_log 'decision verdict=reject by=limit:early_talker stage=connect code=554 enh=5\.5\.0'

note "a client that speaks at once, before any greeting"
raw_session --from 127.0.0.3 "s:EHLO early.example.test\r\n" close
expect_reply '^S: 554 5\.5\.0 .*you talked before the greeting'

note "a HELO client pipelining without PIPELINING, in one write"
raw_session --from 127.0.0.3 r "s:HELO pipe.example.test\r\n" r \
    "s:MAIL FROM:<a@mail.example.test>\r\nRCPT TO:<user@example.org>\r\n" close
expect_reply '^S: 250 '
expect_reply '^S: 554 5\.5\.0 .*pipelining was not offered'
expect_no_reply '^S: 250 .*Ok'
expect_log 'decision verdict=reject by=limit:pipelining'

note "polite clients pass: swaks waits for the whole greeting"
swaks_send --local-interface 127.0.0.3
expect_reply '^<- +220 '
expect_reply '^<- +250 .*(queued|Ok)'
note "... also pipelining after EHLO offered it"
swaks_send --local-interface 127.0.0.3 --pipeline
expect_reply '^<- +250 .*(queued|Ok)'
note "... and the DNSBL still applies to a polite client"
swaks_send --local-interface 127.0.0.2
expect_reply '554 5\.7\.1 .*blocked using dnsbl\.test'

expect_sink_count 2
expect_counter conn_early_talker 2
expect_counter cmd_pipelining_violation 1
finish
