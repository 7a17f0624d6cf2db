#!/bin/bash
# t_spf_policy: SPF on real connections, records of every kind served by
# nsd (tests/e2e/zones/example.test.zone): pass through each mechanism with
# a Received-SPF header at the backend, fail with the domain's own
# explanation (expanded by mxguard, not libspf2), the RFC 7208 limits
# libspf2 alone misses (void lookups, its %{l1r-} bug), temperror on a
# server that never answers, the HELO identity, the null sender, and the
# per-result policy keys.
. "$(dirname "$0")/dnslib.sh"

DNS_TIMEOUT=1s
start_dns
start_sink
conf() {
	mxg_conf <<CONF
@BASE@
filters = spf
[spf]
receiver = mx.example.org
$1
CONF
}
conf ""
start_mxguard

accepted() {	# FROM SPF-RESULT [HELO]
	swaks_send --from "$1" --helo "${3:-mail.example.test}" \
	    --header "X-Case: $1"
	expect_reply '^<- +250 .*(queued|Ok)'
	expect_sink_contains "^Received-SPF: $2 \\(mx\\.example\\.org: .*envelope-from=\"$1\""
}

note "pass through every mechanism (client 127.0.0.3)"
for d in ip4 a mx include redirect exists ptr split; do
	accepted "someone@$d.example.test" pass
done
expect_sink_contains 'Received-SPF: pass \(mx\.example\.org: domain of someone@ip4\.example\.test designates 127\.0\.0\.3 as permitted sender\) client-ip=127\.0\.0\.3; envelope-from="someone@ip4\.example\.test"; helo="mail\.example\.test"; receiver=mx\.example\.org; identity=mailfrom;'

note "fail: 550 5.7.23 with the domain's explanation, expanded by us"
swaks_send --from someone@fail.example.test
expect_reply "^<\*\* +550 5\.7\.23 SPF validation failed for fail\.example\.test: 127\.0\.0\.3 is not one of fail\.example\.test's designated mail servers"
expect_log 'decision verdict=reject by=spf stage=mail code=550 enh=5\.7\.23 reason="spf fail identity=mailfrom domain=fail\.example\.test"'
swaks_send --from someone@fail-noexp.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for fail-noexp\.example\.test: 127\.0\.0\.3 is not allowed to send mail for fail-noexp\.example\.test'

note "the other client address is not in ip4.example.test's record"
swaks_send --from someone@ip4.example.test --local-interface 127.0.0.2 \
    --helo other.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for ip4\.example\.test'

note "softfail, neutral, none, permerror: accepted and recorded"
accepted someone@softfail.example.test softfail
accepted someone@neutral.example.test neutral
accepted someone@none.example.test none
accepted someone@permerror.example.test permerror
accepted someone@two.example.test permerror

note "RFC 7208 4.6.4 limits libspf2 alone does not enforce"
accepted someone@voids.example.test permerror
expect_sink_contains 'Received-SPF: permerror .*more than 2 void lookups'
accepted someone@twovoids.example.test pass
accepted someone@toomany.example.test permerror

note "%{l1r-} of \"user\" is \"user\" (libspf2 alone makes it \"ser\")"
accepted user@macro.example.test pass

note "temperror: an include that never answers, and a domain that never answers"
swaks_send --from someone@temperror.example.test
expect_reply '^<\*\* +451 4\.7\.24 SPF lookup for temperror\.example\.test failed temporarily'
swaks_send --from someone@host.timeout.test
expect_reply '^<\*\* +451 4\.7\.24 SPF lookup for host\.timeout\.test failed temporarily'

note "the HELO identity is checked too (RFC 7208 2.3)"
swaks_send --from someone@ip4.example.test --helo helo-fail.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for HELO helo-fail\.example\.test'

note "the null sender is checked as postmaster@HELO (RFC 7208 2.4)"
swaks_send --from '<>' --helo helo-pass.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_sink_contains 'Received-SPF: pass .*envelope-from="postmaster@helo-pass\.example\.test"; helo="helo-pass\.example\.test"; receiver=mx\.example\.org; identity=helo;'
swaks_send --from '<>' --helo helo-fail.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for HELO helo-fail\.example\.test'

expect_counter spf_pass -ge 11
expect_counter spf_fail 5
expect_counter spf_void_limit 1
expect_counter spf_temperror 2
expect_counter spf_rejected 5
expect_counter spf_tempfailed 2

note "policy keys: softfail rejected, temperror accepted"
conf "on_softfail = reject
on_temperror = accept
helo = no"
restart_mxguard
swaks_send --from someone@softfail.example.test
expect_reply '^<\*\* +550 5\.7\.23 SPF validation failed for softfail\.example\.test'
swaks_send --from someone@temperror.example.test
expect_reply '^<- +250 .*(queued|Ok)'
expect_sink_contains 'Received-SPF: temperror .*envelope-from="someone@temperror\.example\.test"'
note "helo = no: a failing HELO name alone no longer rejects"
swaks_send --from someone@ip4.example.test --helo helo-fail.example.test
expect_reply '^<- +250 .*(queued|Ok)'
finish
