# smuggle.sh - shared by t_smuggling_*.sh: one session per malformed
# end-of-data sequence in tests/data/smuggling/eod-sequences.tsv.
#
# smuggle_session NAME SEQ: MAIL/RCPT/DATA, then in one write: a header, a
# body line ending in CRLF, SEQ (C escapes), a complete second transaction
# from <smuggled@evil.test>, a real CRLF.CRLF and QUIT; reads every reply
# until the server closes. Sets AFTER: the reply codes after the 354.
smuggle_session() {
	local name=$1 seq=$2
	raw_session recv 'send:EHLO client.example.net\r\n' recv \
	    'send:MAIL FROM:<sender@client.example.net>\r\n' recv \
	    'send:RCPT TO:<user@example.test>\r\n' recv 'send:DATA\r\n' recv \
	    "send:Subject: smuggling test $name\\r\\n\\r\\nfirst body line\\r\\n${seq}MAIL FROM:<smuggled@evil.test>\\r\\nRCPT TO:<victim@example.test>\\r\\nDATA\\r\\nSubject: SMUGGLED-$name\\r\\n\\r\\nsmuggled body $name\\r\\n.\\r\\n\\r\\n.\\r\\nQUIT\\r\\n" \
	    eof
	AFTER=$(codes | sed -n 's/^220 250 250 250 354 //p')
}

# The variants: "name<TAB>sequence" lines.
smuggle_variants() {
	grep -v '^#' "$TESTDATA/smuggling/eod-sequences.tsv" | cut -f1,2
}

# No 250 and no 354 after the message's own reply (first of AFTER): the
# smuggled transaction never got through.
smuggle_check_replies() {
	local name=$1 first=$2 rest
	case "$AFTER" in
	"$first"*) ok "$name: the message got $first" ;;
	*) fail "$name: codes after the 354 are \"$AFTER\", want $first first" ;;
	esac
	rest=${AFTER#???}
	case " $rest " in
	*" 250 "*|*" 354 "*)
		fail "$name: the smuggled transaction got a reply 250/354: \"$AFTER\"" ;;
	*) ok "$name: no 250/354 for the smuggled transaction (\"$AFTER\")" ;;
	esac
}

# Exactly WANT messages whose subject names this variant; none from the
# smuggled sender (a smuggled message would have its own envelope), and
# no more messages in all than sessions that got a 250.
smuggle_check_sink() {
	local name=$1 want=$2 n
	n=$(sink_find "^Subject: smuggling test $name\$" | wc -l)
	[ "$n" = "$want" ] && ok "$name: $n message(s) at the sink" ||
	    fail "$name: $n message(s) at the sink, want $want"
	if [ -n "$(sink_find '^X-Mail-Args: <smuggled@evil\.test>')" ]; then
		fail "$name: a smuggled message reached the backend:"
		sink_find '^X-Mail-Args: <smuggled@evil\.test>' | head -n 3
	fi
	SMUGGLE_WANT=$((${SMUGGLE_WANT:-0} + want))
	n=$(sink_count)
	[ "$n" = "$SMUGGLE_WANT" ] ||
	    fail "$name: $n messages at the sink in all, want $SMUGGLE_WANT"
}
