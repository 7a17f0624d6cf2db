#!/bin/sh
# t_access_client_reject: a client refused by a cidr access table gets 554
# in place of the greeting and is disconnected; mxguard never connects to
# the backend for it.
. "$(dirname "$0")/lib.sh"

start_sink
cp "$TESTDATA/tables/client-reject.cidr" "$T/client.cidr"
start_mxguard access.conf
mxguard_stats
before=$(counter backend_connect_ok)

raw_session recv eof
expect_codes_match '^554$'
expect_reply '^554 5\.7\.1 .*No mail from this network'
expect_no_reply '^220 '
expect_log 'decision verdict=reject by=access stage=connect code=554 .*client=\[127\.0\.0\.1\]'
# swaks sees the same
swaks_send --to user@example.test
expect_reply '^554 '
expect_no_reply '^250 '

expect_sink_count 0
mxguard_stats
after=$(counter backend_connect_ok)
[ "$after" = "$before" ] &&
    ok "no backend connection for the refused clients (backend_connect_ok $before -> $after)" ||
    fail "backend_connect_ok went from $before to $after: refused clients made mxguard connect to the backend"
expect_counter conn_accepted 2
finish
