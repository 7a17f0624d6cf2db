#!/bin/sh
# t_rcpt_redis_shared: two mxguard instances behind one MX name share a
# real redis-server: one's callout answers are the other's cache hits (no
# second callout), their rate counters add up, the admin flush works on
# Redis, and a Redis outage makes every check 4xx (never an answer) unless
# the primary itself can answer (a third instance, rcpt only), after which
# all reconnect on their own.
. "$(dirname "$0")/rcptlib.sh"

start_primary
start_backup
start_redis
mxg_conf c <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = redis://127.0.0.1:$REDIS_PORT/3
store_timeout = 500ms
filters = rcpt
[rcpt]
callout_domains = example.test, catchall.test
EOF2
start_mxguard c "$T/c.conf"
for n in a b; do
	mxg_conf $n <<EOF2
primary = 127.0.0.1:$PRIMARY_PORT
primary_probe_interval = 1s
store = redis://127.0.0.1:$REDIS_PORT/3
store_timeout = 500ms
filters = ratelimit, rcpt
[ratelimit]
rcpt_per_ip = 5/1d
[rcpt]
callout_domains = example.test, catchall.test
EOF2
	start_mxguard $n "$T/$n.conf"
	wait_log $n 'store redis://127\.0\.0\.1:[0-9]+/3: connected'
done
wait_log a 'primary .* is up'
wait_log b 'primary .* is up'

note "a's callouts are b's cache"
smtp_session a --rcpt alice@example.test --rcpt nobody@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt nobody@example.test '550 5\.1\.1 '
expect_counter a callout_started -ge 2
smtp_session b --rcpt alice@example.test --rcpt nobody@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt nobody@example.test '550 5\.1\.1 '
expect_counter b callout_started -eq 0
expect_counter b rcpt_cache_valid -eq 1
expect_counter b rcpt_cache_invalid -eq 1
expect_log b 'reason="cached callout answer: 550 5\.1\.1 '
n=$(redis-cli -p "$REDIS_PORT" -n 3 --scan --pattern 'mxg:co:example.test/*' | wc -l)
[ "$n" -ge 2 ] && ok "redis holds the entries ($n under mxg:co:example.test/)" ||
    fail "redis holds $n callout entries"

note "rate counters add up across instances (5 recipients per client a day)"
smtp_session a --rcpt carol@example.test
expect_rcpt carol@example.test '250 '
smtp_session b --rcpt bob@example.test
expect_rcpt bob@example.test '451 4\.7\.1 Too many recipients from \[127\.0\.0\.1\]'
expect_log b 'decision verdict=tempfail by=ratelimit stage=rcpt code=451 enh=4\.7\.1 reason="limit rcpt_per_ip 5/86400s exceeded'
redis-cli -p "$REDIS_PORT" -n 3 --scan --pattern 'mxg:rl:*' | xargs -r redis-cli -p "$REDIS_PORT" -n 3 del >/dev/null

note "the admin flush works on Redis"
out=$("$MXGUARD" -c "$T/b.conf" -F nobody@example.test 2>&1)
echo "$out" | grep -q '1 entry removed' && ok "-F: $out" || fail "-F: $out"
smtp_session b --rcpt nobody@example.test
expect_rcpt nobody@example.test '550 5\.1\.1 '
expect_counter b callout_started -eq 1
out=$("$MXGUARD" -c "$T/a.conf" -F '@example.test' 2>&1)
echo "$out" | grep -Eq 'flushed @example.test: [1-9][0-9]* entr' && ok "-F domain: $out" ||
    fail "-F domain: $out"
n=$(redis-cli -p "$REDIS_PORT" -n 3 --scan --pattern 'mxg:co:example.test/*' | wc -l)
[ "$n" = 0 ] && ok "no entry left for example.test" || fail "$n entries left"

note "Redis down: 4xx, never an answer; then both reconnect"
stop_redis
smtp_session a --rcpt alice@example.test --rcpt nobody2@example.test
expect_rcpt alice@example.test '451 4\.7\.0 '
expect_rcpt nobody2@example.test '451 4\.7\.0 '
wait_log a 'store redis://.*: (connection lost|cannot connect)'
expect_counter a store_error -ge 1
note "the store down, only rcpt: the primary still answers; down too: 4xx"
smtp_session c --rcpt alice@example.test --rcpt nobody3@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt nobody3@example.test '550 5\.1\.1 '
stop_primary
wait_log c 'primary .* is down' 15
smtp_session c --rcpt alice@example.test --rcpt nobody3@example.test
expect_rcpt alice@example.test '451 4\.7\.0 '
expect_rcpt nobody3@example.test '451 4\.7\.0 '
expect_log c 'decision verdict=tempfail by=rcpt stage=rcpt code=451 enh=4\.7\.0 reason="error: store failed and primary down'
restart_primary
wait_log c 'primary .* is up \(was down' 15
start_redis
for n in a b; do
	eval "log=\$MXG_LOG_$n"
	wait_for 15 "[ \$(grep -c 'store redis://127.0.0.1:[0-9]*/3: connected' '$log') -ge 2 ]" &&
	    ok "$n reconnected" || fail "$n did not reconnect"
done
smtp_session b --rcpt alice@example.test --rcpt nobody2@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt nobody2@example.test '550 5\.1\.1 '
expect_no_bounce
finish
