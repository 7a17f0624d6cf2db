#!/bin/sh
# t_signal_hup_bad_reload: SIGHUP with a broken configuration file logs
# "reload failed" (with FILE:LINE) and keeps the running configuration:
# mail still flows, and the broken file's changes do not apply; a good
# file is then loaded and applies to new sessions; a later bad one again
# keeps the last good one. Counters config_reload_fail/_ok.
. "$(dirname "$0")/lib.sh"

start_sink
start_mxguard plain.conf
swaks_send --to user@example.test
expect_reply '^250 2\.0\.0 Ok'

# 1. broken: would open other.example, but has an unknown key
write_conf plain.conf "$T/new.conf" "relay_domains=example.test other.example" \
    "no_such_key=1"
mv "$T/new.conf" "$MXG_CONF"
line=$(grep -n '^no_such_key' "$MXG_CONF" | cut -d: -f1)
sighup
expect_log 'reload failed'
expect_log "$(basename "$MXG_CONF"):$line: unknown key \"no_such_key\""
kill -0 "$MXG_PID" && ok "mxguard still running" || fatal "mxguard died on a bad reload"
swaks_send --to user@example.test
expect_reply '^250 2\.0\.0 Ok'
swaks_send --to x@other.example
expect_reply '^554 5\.7\.1 <x@other\.example>: Relay access denied$'
expect_counter config_reload_fail 1
expect_counter config_reload_ok 0

# 2. a good file: other.example relays now
write_conf plain.conf "$T/new.conf" "relay_domains=example.test other.example"
mv "$T/new.conf" "$MXG_CONF"
sighup
expect_log 'reload: configuration loaded'
swaks_send --to x@other.example
expect_reply '^250 2\.0\.0 Ok'
expect_counter config_reload_ok 1

# 3. broken again (a bad value, a table that does not exist): the last
# good configuration stays
write_conf plain.conf "$T/new.conf" "relay_domains=example.test" \
    "max_message_size=huge" "filters=access"
printf '[access]\nsender = hash:%s/no-such-table\n' "$T" >> "$T/new.conf"
mv "$T/new.conf" "$MXG_CONF"
sighup
[ "$(grep -c 'reload failed' "$MXG_LOG")" = 2 ] && ok "second reload failed" ||
    fail "the second bad reload was not refused"
swaks_send --to x@other.example
expect_reply '^250 2\.0\.0 Ok'
expect_counter config_reload_fail 2
expect_counter config_reload_ok 1
expect_sink_count 4
stop_mxguard
rc=$?
[ $rc = 0 ] && ok "mxguard exit 0" || fail "mxguard exit $rc"
finish
