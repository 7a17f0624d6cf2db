#!/bin/sh
# t_smuggling_normalize: every malformed end-of-data sequence of
# tests/data/smuggling/eod-sequences.tsv followed by a smuggled second
# transaction, with bare_newline = normalize: a bare CR or LF is a line end
# but never part of the end of data, so each session delivers exactly ONE
# message whose body holds the would-be second message; no bare CR reaches
# the backend; never a 250 for the smuggled transaction.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/smuggle.sh"

start_sink
start_mxguard plain.conf bare_newline=normalize
nbare=0
while IFS="$(printf '\t')" read -r name seq; do
	echo "== $name: $seq"
	case $name in null*) ;; *) nbare=$((nbare + 1)) ;; esac
	smuggle_session "$name" "$seq"
	smuggle_check_replies "$name" 250
	smuggle_check_sink "$name" 1
	f=$(sink_find "^Subject: smuggling test $name\$")
	[ -n "$f" ] || continue
	grep -qa "^smuggled body $name\$" "$f" &&
	    grep -qa '^MAIL FROM:<smuggled@evil.test>$' "$f" &&
	    ok "$name: the smuggled text is inside the one message" ||
	    fail "$name: the smuggled text is not in the message"
	# the dump turns CRLF into LF: a CR left in it came as a bare CR
	if LC_ALL=C grep -qa "$(printf '\r')" "$f"; then
		fail "$name: a bare CR reached the backend:"
		od -c "$f" | grep -F '\r' | head -n 5
	else
		ok "$name: no bare CR at the backend"
	fi
done <<EOF2
$(smuggle_variants)
EOF2
expect_counter data_bare_newline_normalized "$nbare"
expect_no_log 'verdict=accept.*from=<smuggled@evil.test>'
finish
