#!/bin/sh
# t_backend_client_info_postfix: the real Postfix backup MX learns the real
# client from mxguard: backend_client_info = xclient
# (Postfix's smtpd_authorized_xclient_hosts), then proxy_v1 and proxy_v2
# (smtpd_upstream_proxy_protocol = haproxy). The client connects from
# 127.0.0.2, mxguard from 127.0.0.1: Postfix's Received: header at the
# primary must name 127.0.0.2. A backend that does not offer XCLIENT
# gets no mail: 451.
. "$(dirname "$0")/lib.sh"

send_one() {
	BEFORE=$(sink_count "$PRIMARY_DIR")
	swaks_send --to user@example.test --local-interface 127.0.0.2 \
	    --helo real-client.example.net --data "@$TESTDATA/msgs/small.eml"
}
# the primary's copy: Postfix's Received: names the client mxguard saw
# (XCLIENT carries its HELO name too, PROXY only the address)
expect_postfix_saw_client() {
	local helo=$1 f
	wait_sink_count $((BEFORE + 1)) 20 "$PRIMARY_DIR" || return 1
	f=$(ls -t $(sink_files "$PRIMARY_DIR") | head -n 1)
	if "$PY" "$SINKMSG" message "$f" | head -n 1 |
	    grep -q "^Received: from $helo (.*\[127\.0\.0\.2\])\$"; then
		ok "Postfix saw the real client: $("$PY" "$SINKMSG" message "$f" | head -n 1)"
	else
		fail "Postfix did not see the real client:"
		"$PY" "$SINKMSG" message "$f" | head -n 4
	fi
}

# 1. XCLIENT
start_backup_postfix "smtpd_authorized_xclient_hosts = 127.0.0.1"
start_mxguard plain.conf backend_client_info=xclient
send_one
expect_reply '^250 2\.0\.0 Ok: queued as '
expect_log 'connect client=\[127\.0\.0\.2\]'
expect_postfix_saw_client 'real-client\.example\.net'
stop_mxguard

# 2. PROXY v1 and v2 to a Postfix that wants the haproxy protocol
pf_postconf "$PF_DIR" "smtpd_upstream_proxy_protocol = haproxy" \
    "smtpd_authorized_xclient_hosts ="
pf_stop "$PF_DIR"
pf_start "$PF_DIR" || fatal "Postfix did not restart"
for v in proxy_v1 proxy_v2; do
	start_mxguard plain.conf backend_client_info=$v
	send_one
	expect_reply '^250 2\.0\.0 Ok: queued as '
	expect_postfix_saw_client 'mx\.example\.test'
	stop_mxguard
done

# 3. XCLIENT wanted, but the backend does not offer it (not authorized)
pf_postconf "$PF_DIR" "smtpd_upstream_proxy_protocol =" \
    "smtpd_authorized_xclient_hosts ="
pf_stop "$PF_DIR"
pf_start "$PF_DIR" || fatal "Postfix did not restart"
start_mxguard plain.conf backend_client_info=xclient
send_one
expect_reply '^451 '
expect_no_reply '^250 2\.0\.0 Ok: queued'
[ "$(sink_count "$PRIMARY_DIR")" = "$BEFORE" ] &&
    ok "nothing more reached the primary" ||
    fail "$(sink_count "$PRIMARY_DIR") messages at the primary, want $BEFORE"
finish
