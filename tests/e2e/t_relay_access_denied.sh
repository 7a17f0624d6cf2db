#!/bin/sh
# t_relay_access_denied: mxguard is never an open relay. Recipients outside
# relay_domains get "554 5.7.1 <addr>: Relay access denied", also when the
# access tables say OK for the client, the sender and that recipient, and
# also for routing tricks (%, !, source routes, quoted @, address
# literals, look-alike domains). Nothing for them reaches the backend.
. "$(dirname "$0")/lib.sh"

start_sink
cp "$TESTDATA/tables/client-ok.cidr" "$T/client.cidr"
# many refusals in one session: no error tarpit (error_delay) here
start_mxguard access.conf error_delay=0s

denied='x@other.example
open@other.example
user%other.example@example.test
other.example!user@example.test
"user@other.example"@example.test
user@[127.0.0.1]
user@example.test.other.example
user@notexample.test
user@sub.example.test
postmaster'

steps=()
n=0
while IFS= read -r r; do
	steps+=("send:RCPT TO:<$r>\r\n" recv)
	n=$((n + 1))
done <<EOF2
$denied
EOF2
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<friend@good.example>\r\n' recv "${steps[@]}" \
    'send:RCPT TO:<@example.test:user@other.example>\r\n' recv \
    'send:DATA\r\n' recv \
    'send:RCPT TO:<User@EXAMPLE.TEST>\r\n' recv \
    'send:DATA\r\n' recv "senddata:$TESTDATA/msgs/small.eml" recv \
    'send:QUIT\r\n' recv
# every refused one: 554 Relay access denied (the source route may also
# be refused as a syntax error), then DATA without a recipient: 554
c=$(codes)
want="220 250 250 $(printf '554 %.0s' $(seq 1 $n))"
case "$c" in
"$want"5[05][0-9]" 554 250 354 250 221")
	ok "every foreign recipient refused, then the good one accepted: $c" ;;
*)	fail "reply codes: got \"$c\", want \"${want}5xx 554 250 354 250 221\"" ;;
esac
while IFS= read -r r; do
	re=$(printf '%s' "$r" | sed 's/[][\.*^$]/\\&/g')
	expect_reply "^554 5\.7\.1 <$re>: Relay access denied$"
done <<EOF2
$denied
EOF2
expect_sink_count 1
rc=$(grep -ah '^X-Rcpt-Args' $(sink_files))
[ "$rc" = 'X-Rcpt-Args: <User@EXAMPLE.TEST>' ] &&
    ok "the backend got only <User@EXAMPLE.TEST>" ||
    fail "recipients at the backend: $rc"
expect_log 'decision verdict=reject by=relay stage=rcpt code=554 enh=5\.7\.1 .*to=<open@other.example>'

# relay_domains = .example.test: subdomains only
stop_mxguard
start_mxguard access.conf error_delay=0s relay_domains=.example.test
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<friend@good.example>\r\n' recv \
    'send:RCPT TO:<a@sub.example.test>\r\n' recv \
    'send:RCPT TO:<b@deep.sub.example.test>\r\n' recv \
    'send:RCPT TO:<c@example.test>\r\n' recv \
    'send:RCPT TO:<d@sub.notexample.test>\r\n' recv \
    'send:QUIT\r\n' recv
expect_codes "220 250 250 250 250 554 554 221"
finish
