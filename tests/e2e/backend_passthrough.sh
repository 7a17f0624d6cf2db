# backend_passthrough.sh - the body of t_backend_4xx_passthrough and
# t_backend_5xx_passthrough: the backend's rejections of MAIL, RCPT, DATA
# and the end of data reach the client unchanged (code, enhanced code,
# text) and are logged with the verdict by=backend. The test sets, then
# sources this:
#   SINK_OPT  smtp-sink's option for the command (-r soft, -f hard)
#   REPLY_OPT smtp-sink's option for the reply text (-b soft, -B hard)
#   CODE ENH TEXT VERDICT TXN_COUNTER CLASS_COUNTER
ENH_RE=$(printf '%s' "$ENH" | sed 's/\./\\./g')

# phase CMD STEPS-AFTER-EHLO...: a fresh sink rejecting CMD with the
# reply, a fresh mxguard, one session
phase() {
	local cmd=$1
	shift
	[ -n "$MXG_PID" ] && stop_mxguard
	[ -n "${SINK_PID:-}" ] && stop_sink
	rm -rf "$T/sink"
	start_sink "$SINK_OPT" "$cmd" "$REPLY_OPT" "$CODE $ENH Backend says $cmd: $TEXT"
	start_mxguard plain.conf
	raw_session recv 'send:EHLO client.example.net\r\n' recv "$@" \
	    'send:QUIT\r\n' recv
}
M='send:MAIL FROM:<s@client.example.net>\r\n'
R='send:RCPT TO:<user@example.test>\r\n'
D='send:DATA\r\n'

phase MAIL "$M" recv
expect_codes "220 250 $CODE 221"
expect_reply "^$CODE $ENH_RE Backend says MAIL: $TEXT\$"
expect_log "decision verdict=$VERDICT by=backend stage=mail code=$CODE enh=$ENH_RE reason=\"Backend says MAIL: $TEXT\""

phase RCPT "$M" recv "$R" recv "$D" recv
expect_codes_match "^220 250 250 $CODE 5[0-9][0-9] 221\$"
expect_reply "^$CODE $ENH_RE Backend says RCPT: $TEXT\$"
expect_log "decision verdict=$VERDICT by=backend stage=rcpt code=$CODE enh=$ENH_RE .*to=<user@example.test>"

phase DATA "$M" recv "$R" recv "$D" recv
expect_codes "220 250 250 250 $CODE 221"
expect_reply "^$CODE $ENH_RE Backend says DATA: $TEXT\$"

phase . "$M" recv "$R" recv "$D" recv \
    "senddata:$TESTDATA/msgs/small.eml" recv
expect_codes "220 250 250 250 354 $CODE 221"
expect_reply "^$CODE $ENH_RE Backend says \\.: $TEXT\$"
expect_log "decision verdict=$VERDICT by=backend stage=eom code=$CODE enh=$ENH_RE"
# (smtp-sink keeps the message even when it refuses the dot: no count here)
expect_counter "$TXN_COUNTER" 1
expect_counter "$CLASS_COUNTER" 1
finish
