#!/bin/sh
# t_hostile_abandoned_txn: a client that goes away in the middle of a
# transaction -- after MAIL, after RCPT, after RCPT with a half-close,
# inside DATA, after a BDAT chunk -- leaves nothing behind at the backend:
# the next client, which may be given the same (pooled) backend
# connection, gets 250 for its MAIL, RCPT and message, and its message
# reaches the sink with its own sender and recipient only, never the
# abandoned transaction's.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

start_sink
start_mxguard plain.conf
RAW_TIMEOUT=10
n=0
abandon() {	# abandon STEP...: a session that ends with the given steps
	local before
	before=$(log_count ' disconnect reason=')
	hraw recv 'send:EHLO gone.example.net\r\n' recv \
	    'send:MAIL FROM:<gone@client.example.net>\r\n' recv "$@"
	wait_for 10 "[ \$(log_count ' disconnect reason=') -gt $before ]" ||
	    fail "the abandoned session did not end"
}
next_client() {	# next_client TAG: a full transaction right after it
	n=$((n + 1))
	printf 'Subject: after %s\r\n\r\nA message after an abandoned transaction.\r\n' \
	    "$1" > "$T/after$n.eml"
	hraw recv 'send:EHLO next.example.net\r\n' recv \
	    "send:MAIL FROM:<next$n@client.example.net>\\r\\n" recv \
	    "send:RCPT TO:<next$n@example.test>\\r\\n" recv 'send:DATA\r\n' recv \
	    "senddata:$T/after$n.eml" recv 'send:QUIT\r\n' recv
	expect_codes "220 250 250 250 354 250 221" &&
	    wait_for 10 "[ -n \"\$(sink_find '^Subject: after $1\$')\" ]"
	f=$(sink_find "^Subject: after $1\$")
	if [ -n "$f" ] && [ "$(grep -c '^X-Rcpt-Args:' "$f")" = 1 ] &&
	    grep -q "^X-Rcpt-Args: <next$n@example.test>" "$f" &&
	    grep -q "^X-Mail-Args: <next$n@client.example.net>" "$f"; then
		ok "after $1: delivered with its own envelope only"
	else
		fail "after $1: not delivered with its own envelope ($f)"
		[ -n "$f" ] && grep '^X-' "$f"
	fi
}

abandon close
next_client mail
abandon 'send:RCPT TO:<victim1@example.test>\r\n' recv close
next_client rcpt
abandon 'send:RCPT TO:<victim2@example.test>\r\n' recv shutwr eof
next_client half-close
abandon 'send:RCPT TO:<victim3@example.test>\r\n' recv 'send:DATA\r\n' recv \
    'send:Subject: abandoned\r\n\r\nhalf a message\r\n' close
next_client data
abandon 'send:RCPT TO:<victim4@example.test>\r\n' recv \
    'send:BDAT 30\r\nSubject: abandoned bdat\r\n\r\n' recv close
next_client bdat
expect_sink_not_contains 'victim[0-9]|^Subject: abandoned|half a message'
expect_sink_count 5
finish
