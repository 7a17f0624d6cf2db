#!/bin/sh
# t_rules_reload_on_change: the data files the configuration names are
# watched (rules_check_interval = 1s), as Postfix daemons pick up a changed
# lookup table: a relay_domains file that gains a domain (replaced by mv)
# and a cidr access table edited in place take effect without SIGHUP; a
# change that does not load (a bad line) keeps the running configuration,
# is logged and counted once, and is not retried until the file changes
# again; fixing it loads. The session open across the reloads finishes,
# and idle backend connections of replaced configurations are closed.
. "$(dirname "$0")/lib.sh"

start_sink
printf '# relay domains\nexample.test\n' > "$T/domains"
: > "$T/client.cidr"
start_mxguard access.conf relay_domains="$T/domains" rules_check_interval=1s

# not yet a relay domain
swaks_send --to user@new.test
expect_reply '^554 5\.7\.1 .*Relay access denied'

# a session that stays open across the reloads
NSESS=$((NSESS + 1))
long=$T/long.out
"$PY" "$SMTPRAW" -t 60 127.0.0.1 "$MXG_PORT" recv 'send:EHLO client.example.net\r\n' \
    recv 'send:MAIL FROM:<s@client.example.net>\r\n' recv \
    'send:RCPT TO:<user@example.test>\r\n' recv "waitfile:$T/go" 'send:DATA\r\n' recv \
    "senddata:$TESTDATA/msgs/small.eml" recv 'send:QUIT\r\n' recv \
    > "$long" 2>&1 &
long_pid=$!

# 1. the domains file replaced (write, then mv: how admins and tools do it)
printf '# relay domains\nexample.test\nnew.test\n' > "$T/domains.new"
mv "$T/domains.new" "$T/domains"
wait_for 10 "grep -q 'reload: .*domains changed' $MXG_LOG" &&
    ok "the change was noticed" || fail "no 'domains changed' in the log"
wait_for 10 "[ \$(grep -c 'reload: configuration loaded' $MXG_LOG) -ge 1 ]" &&
    ok "the new configuration loaded" || fail "no reload after the change"
swaks_send --to user@new.test
expect_reply '^250 .*[Oo]k'
expect_counter config_files_changed 1
expect_counter config_reload_ok 1

# 2. the cidr table edited in place: this client is now refused at connect
echo '127.0.0.1/32 REJECT Refused by the edited table' >> "$T/client.cidr"
wait_for 10 "[ \$(grep -c 'reload: configuration loaded' $MXG_LOG) -ge 2 ]" &&
    ok "the edited table loaded" || fail "no reload after the table edit"
raw_session recv eof
expect_reply '^554 5\.7\.1 .*Refused by the edited table'

# 3. a change that does not load: the running configuration stays
: > "$T/client.cidr"
wait_for 10 "[ \$(grep -c 'reload: configuration loaded' $MXG_LOG) -ge 3 ]" ||
    fail "no reload after emptying the table"
printf 'example.test\nbad!domain.test\n' > "$T/domains"
wait_for 10 "grep -q 'reload failed' $MXG_LOG" &&
    ok "the bad file was refused" || fail "no 'reload failed' in the log"
expect_log "domains:2: "
sleep 3		# three more checks: no retry while the file stays the same
expect_counter config_reload_fail 1
expect_counter config_files_changed 4
swaks_send --to user@new.test
expect_reply '^250 .*[Oo]k'

# 4. fixed: loads again
printf 'example.test\n' > "$T/domains"
wait_for 10 "[ \$(grep -c 'reload: configuration loaded' $MXG_LOG) -ge 4 ]" &&
    ok "the fixed file loaded" || fail "no reload after the fix"
swaks_send --to user@new.test
expect_reply '^554 5\.7\.1 .*Relay access denied'

# the session opened before the first change delivers its message
touch "$T/go"
wait "$long_pid"
LAST=$long
expect_codes "220 250 250 250 354 250 221"
expect_sink_count 3
# each reload retired the idle backend connections of the configuration it
# replaced, and the long session's (an old configuration's) was not pooled
sleep 1
mxguard_stats
note "backend connections open at the end: $(counter backend_conns)"
expect_counter backend_conns -le 1
finish
