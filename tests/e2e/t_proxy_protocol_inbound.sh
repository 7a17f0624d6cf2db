#!/bin/sh
# t_proxy_protocol_inbound: behind a trusted load balancer
# (proxy_protocol_networks) the PROXY v1/v2 header's address is the client
# for every check, the logs and the Received: header; a PROXY header from
# an untrusted address is refused (554 5.7.0); a trusted peer that sends no
# PROXY header or stays silent is dropped.
. "$(dirname "$0")/lib.sh"

start_sink
cp "$TESTDATA/tables/client-other.cidr" "$T/client.cidr"   # 192.0.2.0/24 REJECT
start_mxguard access.conf proxy_protocol_networks=127.0.0.0/8 \
    proxy_protocol_timeout=2s

# v1: the client 198.51.100.9 is relayed, named as such
raw_session 'send:PROXY TCP4 198.51.100.9 127.0.0.1 4321 25\r\n' recv \
    'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<lb@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
expect_log 'connect client=\[198\.51\.100\.9\]:4321 proxy=v1'
expect_log 'decision verdict=accept .* client=\[198\.51\.100\.9\]'
expect_sink_count 1
expect_sink_contains '^Received: from client\.example\.net \(unknown \[198\.51\.100\.9\]\)$'

# v1 from 192.0.2.7: the access table refuses that client at connect
raw_session 'send:PROXY TCP4 192.0.2.7 127.0.0.1 4321 25\r\n' recv eof
expect_codes "554"
expect_reply '^554 5\.7\.1 .*<192\.0\.2\.7>: Client host rejected'

# v2 (binary): 198.51.100.9 port 4660 to 127.0.0.1 port 25
raw_session 'send:\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xc6\x33\x64\x09\x7f\x00\x00\x01\x12\x34\x00\x19' \
    recv 'send:QUIT\r\n' recv
expect_codes "220 221"
expect_log 'connect client=\[198\.51\.100\.9\]:4660 proxy=v2'

# a trusted peer without a PROXY header, and a silent one: dropped
raw_session 'send:EHLO client.example.net\r\n' eof
expect_no_reply '^2[0-9][0-9] '
raw_session eof
expect_no_reply '^2[0-9][0-9] '
expect_counter conn_refused_proxy -ge 1

# untrusted: a PROXY header is refused
stop_mxguard
start_mxguard access.conf proxy_protocol_networks=192.0.2.0/24
raw_session recv 'send:PROXY TCP4 198.51.100.9 127.0.0.1 4321 25\r\n' recv eof
expect_codes "220 554"
expect_reply '^554 5\.7\.0 '
expect_sink_count 1
finish
