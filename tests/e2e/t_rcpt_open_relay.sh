#!/bin/sh
# t_rcpt_open_relay: mxguard is never an open relay, whatever else is
# configured. The backup behind it is itself an open relay for mxguard
# (mynetworks = 127.0.0.0/8), every filter is on with every allowlist
# that could be misread as "relay this" (client, sender and recipient
# access OK, @foreign catch-alls in the recipient maps, allowlisted
# networks for defer and ratelimit), and still every recipient outside
# relay_domains, and every form of sender-specified routing, gets 554
# 5.7.1 at RCPT, and the backup never sees one of them. The same again
# with no filter at all.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup "mynetworks = 127.0.0.0/8"
# control: the backup itself relays anything from 127.0.0.1 (no DATA)
out=$("$PY" "$CLIENT" session "$BACKUP_PORT" --rcpt user@evil.test)
echo "$out" | grep -q '^RCPT <user@evil.test> 250 ' &&
    ok "control: the backup alone is an open relay for mxguard" ||
    fatal "control: the backup refuses user@evil.test: $out"
mkdir -p "$T/state"
printf '127.0.0.1 OK\n' > "$T/client_access"
printf 'sender@example.net OK\nexample.net OK\n' > "$T/sender_access"
printf 'evil.test OK\nuser@evil.test OK\n127.0.0.1 OK\n' > "$T/rcpt_access"
printf 'alice@example.test OK\n@evil.test OK\n@sub.example.test OK\n@127.0.0.1 OK\n' \
    > "$T/recipients"

BAD="user@evil.test user@EVIL.TEST user@evil.test. USER@Evil.Test.
user%evil.test@example.test \"user%evil.test\"@example.test
evil.test!user@example.test \"user@evil.test\"@example.test
user@example.test@evil.test @example.test:user@evil.test
user@[127.0.0.1] user@[192.0.2.1] user@[IPv6:::1] user@127.0.0.1
user@sub.example.test user@example.test.evil.test user@localhost
postmaster \"user@evil.test\" user@evil.test%example.test"

run_case() {
	local name=$1 a args=""
	for a in $BAD; do
		args="$args --rcpt $a"
	done
	# shellcheck disable=SC2086
	smtp_session "$name" --from sender@example.net $args \
	    --rcpt alice@example.test --data -
	for a in $BAD; do
		a=$(printf '%s' "$a" | tr -d '\\')
		# refused as relaying, or as a syntax the core will not take
		expect_rcpt "$a" '(554 5\.7\.1 .*Relay access denied|501 5\.5\.4 )'
	done
	expect_rcpt alice@example.test '250 '
	expect_last '^EOM 250 '
	expect_no_log "$name" 'decision verdict=accept by=backend .*to=<[^>]*evil'
}

note "every filter on, every allowlist that could be misread"
mxg_conf full <<EOF2
max_errors = 100
soft_error_limit = 100
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = lmdb:$T/state
filters = access, ratelimit, defer, rcpt
[access]
client = cidr:$T/client.cidr
sender = hash:$T/sender_access
recipient = hash:$T/rcpt_access
[ratelimit]
rcpt_per_ip = 1000/1h
allow_networks = 127.0.0.0/8
[defer]
allow_networks = 127.0.0.0/8
[rcpt]
maps = hash:$T/recipients
callout_domains = evil.test
map_domains = example.test, .example.test
EOF2
printf '127.0.0.0/8 OK\n' > "$T/client.cidr"
# callout_domains = evil.test needs nothing else; relay_domains stays
start_mxguard full "$T/full.conf"
wait_log full 'primary .* is up'
run_case full

note "no filter at all: the core alone"
mxg_conf bare <<EOF2
max_errors = 100
soft_error_limit = 100
EOF2
start_mxguard bare "$T/bare.conf"
run_case bare

note "the backup saw none of them"
wait_for 20 '[ "$(backup_queue)" = 0 ]'
postqueue -c "$BACKUP_DIR/etc" -j > "$T/queue.json" 2>/dev/null
FOREIGN='(evil|\[|localhost|sub\.example|@127\.0\.0\.1|%|!)'
if grep -Eiq "to=<[^>]*$FOREIGN" "$(pf_log "$BACKUP_DIR")" ||
    grep -Eiq "\"address\": *\"[^\"]*$FOREIGN" "$T/queue.json"; then
	fail "a foreign recipient reached the backup:"
	grep -Ei "to=<[^>]*$FOREIGN" "$(pf_log "$BACKUP_DIR")" | head -5
else
	ok "the backup never saw a foreign recipient"
fi
grep -q 'to=<alice@example.test>.*status=sent' "$(pf_log "$BACKUP_DIR")" &&
    ok "the valid recipient was relayed" || fail "alice was not relayed"
expect_no_bounce
finish
