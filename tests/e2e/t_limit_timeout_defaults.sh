#!/bin/sh
# t_limit_timeout_defaults: the client timeouts default to RFC 5321's
# (4.5.3.2): 5 minutes for the greeting and between commands
# (timeout_greeting, timeout_command = 300s), at least 3 minutes between
# reads in DATA (timeout_data), 10 minutes for the backend's reply to the
# end of data (backend_data_timeout = 600s); each is configurable (here
# 2 s: the idle session gets "421 4.4.2" within a few seconds, counter
# conn_timeout).
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

"$MXGUARD" -k >"$T/keys.out" 2>&1
secs() {	# secs KEY: the default of KEY in seconds
	sed -n "s/^#$1 = \\([0-9]*\\)s\$/\\1/p; s/^#$1 = \\([0-9]*\\)m\$/\\1*60/p" \
	    "$T/keys.out" | bc
}
for kv in timeout_greeting:300 timeout_command:300 timeout_data:180 \
    backend_data_timeout:600; do
	k=${kv%%:*} min=${kv#*:} v=$(secs "${kv%%:*}")
	[ -n "$v" ] && [ "$v" -ge "$min" ] && ok "$k defaults to ${v}s (RFC 5321: >= ${min}s)" ||
	    fail "$k defaults to '${v}' s; RFC 5321 wants at least ${min}s"
done

start_sink
start_mxguard plain.conf timeout_greeting=2s timeout_command=2s
hraw recv time 'send:EHLO idle.example.net\r\n' recv time eof time
expect_codes "220 250 421"
expect_reply '^421 4\.4\.2 '
expect_counter conn_timeout 1
good_mail timeouts
finish
