#!/bin/sh
# t_limit_sessions_net: the per-address and per-network session limits
# count the client a trusted load balancer names in its PROXY header, and
# the network is the /64 for IPv6 (the /24 for IPv4). With
# max_sessions_per_ip = 2 and max_sessions_per_net = 3: 3 connections as
# 2001:db8:1:2::a give 2 greetings and one "421 4.7.0 ... too many
# connections from your address"; 2 more as 2001:db8:1:2::b (same /64)
# give 1 greeting and 1 refusal; 2001:db8:1:3::a (another /64) is greeted;
# IPv4 192.0.2.1 x3 and 192.0.2.2 x2 the same way as the first two
# (counter conn_refused_max_per_ip = 4). Once they are gone, their counts
# are too: the same addresses are greeted again. Meanwhile a well-behaved
# client's message (named 198.51.100.7) gets 250 and reaches the sink.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf proxy_protocol_networks=127.0.0.0/8 \
    max_sessions_per_ip=2 max_sessions_per_net=3 timeout_greeting=60s

expect_split() {	# NAME ADDR GREETED REFUSED
	local g r
	g=$(source_count "$1" "$2" greeted) r=$(source_count "$1" "$2" refused)
	[ "$g" = "$3" ] && [ "$r" = "$4" ] &&
	    ok "$2: $3 greeted, $4 refused" ||
	    fail "$2: $g greeted and $r refused, want $3 and $4"
}
conns_bg a --proxy --sources 2001:db8:1:2::a --per-source 3
wait_conns a
expect_split a 2001:db8:1:2::a 2 1
grep -q '^<<< 421 4\.7\.0 .*too many connections from your address' "$T/a.out" &&
    ok "421 4.7.0 too many connections from your address" ||
    fail "no 421 4.7.0 refusal"
conns_bg b --proxy --sources 2001:db8:1:2::b --per-source 2
wait_conns b
expect_split b 2001:db8:1:2::b 1 1
conns_bg c --proxy --sources 2001:db8:1:3::a --per-source 1
wait_conns c
expect_split c 2001:db8:1:3::a 1 0
conns_bg d --proxy --sources 192.0.2.1 --per-source 3
wait_conns d
expect_split d 192.0.2.1 2 1
conns_bg e --proxy --sources 192.0.2.2 --per-source 2
wait_conns e
expect_split e 192.0.2.2 1 1
expect_counter conn_refused_max_per_ip 4
expect_log 'decision verdict=tempfail by=max_sessions_per_(ip|net) stage=connect code=421'

# meanwhile
printf 'Subject: good mail behind the balancer\r\n\r\nHello.\r\n' > "$T/good.eml"
raw_session 'send:PROXY TCP4 198.51.100.7 127.0.0.1 4321 25\r\n' recv \
    'send:EHLO good.example.net\r\n' recv \
    'send:MAIL FROM:<good@client.example.net>\r\n' recv \
    'send:RCPT TO:<good@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/good.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
wait_sink_count 1

for n in a b c d e; do
	release_conns $n
done
wait_sessions 0
conns_bg f --proxy --sources 2001:db8:1:2::a,2001:db8:1:2::b,192.0.2.1 \
    --per-source 1
wait_conns f
[ "$(result greeted "$T/f.out")" = 3 ] && ok "all greeted again" ||
    fail "$(result greeted "$T/f.out") of 3 greeted after the others left"
release_conns f
finish
