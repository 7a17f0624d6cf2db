#!/bin/sh
# t_backend_tls_postfix: backend_tls = encrypt to a real Postfix with
# STARTTLS: mail reaches the primary and Postfix's Received: says ESMTPS;
# with backend_tls = encrypt and a backend that offers no STARTTLS, no
# mail goes out in clear: clients get 4xx.
. "$(dirname "$0")/lib.sh"

gen_cert
chmod 644 "$TLS_KEY"
start_backup_postfix "smtpd_tls_security_level = may" \
    "smtpd_tls_cert_file = $TLS_CERT" "smtpd_tls_key_file = $TLS_KEY"
start_mxguard plain.conf backend_tls=encrypt
swaks_send --to user@example.test --data "@$TESTDATA/msgs/small.eml"
expect_reply '^250 2\.0\.0 Ok: queued as '
wait_sink_count 1 20 "$PRIMARY_DIR"
f=$(sink_files "$PRIMARY_DIR" | head -n 1)
if [ -n "$f" ] && "$PY" "$SINKMSG" message "$f" | sed -n '1,4p' |
    grep -q 'with ESMTPS id'; then
	ok "Postfix got the message over TLS"
else
	fail "Postfix's Received: does not say ESMTPS:"
	[ -n "$f" ] && "$PY" "$SINKMSG" message "$f" | sed -n '1,4p'
fi
expect_counter backend_tls_fail 0
stop_mxguard

# no STARTTLS at the backend: nothing in clear
pf_postconf "$PF_DIR" "smtpd_tls_security_level = none"
pf_stop "$PF_DIR"
pf_start "$PF_DIR" || fatal "Postfix did not restart"
BACKEND_UP=0	# mxguard must not find it usable
start_mxguard plain.conf backend_tls=encrypt
swaks_send --to user@example.test --data "@$TESTDATA/msgs/small.eml"
expect_reply '^4[0-9][0-9] '
expect_no_reply '^250 2\.0\.0 Ok: queued'
expect_log 'does not offer STARTTLS|backend_tls'
[ "$(sink_count "$PRIMARY_DIR")" = 1 ] && ok "nothing more at the primary" ||
    fail "$(sink_count "$PRIMARY_DIR") messages at the primary (want 1)"
finish
