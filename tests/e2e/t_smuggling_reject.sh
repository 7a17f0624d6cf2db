#!/bin/sh
# t_smuggling_reject: every malformed end-of-data sequence of
# tests/data/smuggling/eod-sequences.tsv (smtpsmug, SMTP-Smuggling-Tools)
# followed by a smuggled second transaction, with bare_newline = reject
# (the default): a message with a bare CR or LF gets "550 5.6.0" and
# nothing reaches the backend; the NUL variants have no bare CR/LF and go
# through as ONE message that still contains the smuggled text. Never a
# 250 for the smuggled transaction. Bare LF ending a command: 500.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/smuggle.sh"

start_sink
start_mxguard plain.conf bare_newline=reject
nbare=0
while IFS="$(printf '\t')" read -r name seq; do
	echo "== $name: $seq"
	smuggle_session "$name" "$seq"
	case $name in
	null*)	# no bare CR or LF: one message, smuggled text inside
		smuggle_check_replies "$name" 250
		smuggle_check_sink "$name" 1
		f=$(sink_find "^Subject: smuggling test $name\$")
		[ -n "$f" ] && grep -qa "^smuggled body $name\$" "$f" &&
		    grep -qa '^MAIL FROM:<smuggled@evil.test>$' "$f" &&
		    ok "$name: the smuggled text is inside the one message" ||
		    fail "$name: the smuggled text is not in the message"
		;;
	*)	nbare=$((nbare + 1))
		smuggle_check_replies "$name" 550
		expect_reply '^550 5\.6\.0 '
		smuggle_check_sink "$name" 0
		;;
	esac
done <<EOF2
$(smuggle_variants)
EOF2
expect_counter data_bare_newline_rejected "$nbare"
expect_log 'decision verdict=reject by=limit:bare_newline stage=eom code=550 enh=5\.6\.0'
expect_no_log 'from=<smuggled@evil.test>.*verdict=accept|verdict=accept.*from=<smuggled@evil.test>'

# a command ended by a bare LF is refused too
raw_session recv 'send:EHLO client.example.net\r\n' recv \
    'send:MAIL FROM:<sender@client.example.net>\n' recv \
    'send:QUIT\r\n' recv
expect_codes "220 250 500 221"
expect_reply '^500 5\.5\.2 '
finish
