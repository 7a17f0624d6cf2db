#!/bin/sh
# t_limit_spool: the memory cap on spools. With spool_memory_max = 4k and
# spool_memory_total = 8k, three messages in DATA at once hold at most 8 KB
# in memory: the third goes to a file (counter spool_to_file), as do a
# well-behaved client's message sent meanwhile (250, delivered) and a
# 50 KB message; all arrive byte for byte. Then spool_dir is a 1 MB tmpfs:
# a 2 MB message cannot be stored (disk full) and gets "451 4.3.0" after
# its final dot, not a crash (counters limit_spool_memory, spool_error);
# smaller messages in memory and on the same disk still go through; with
# the tmpfs read-only, a message that needs a file gets 451 4.3.0 too.
# Needs root (mount).
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/hostile_lib.sh"

[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
mkdir -p "$T/spool"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$T/spool" 2>"$T/mount.err" ||
    skip "cannot mount a tmpfs: $(cat "$T/mount.err")"
# the harness removes $T on exit: unmount first, keeping the status
trap '_rc=$?; umount "$T/spool" 2>/dev/null || umount -l "$T/spool"; (exit $_rc); _cleanup' EXIT

start_sink
start_mxguard plain.conf stream_unfiltered=no spool_memory_max=4k spool_memory_total=8k
mk() {	# mk FILE BYTES SUBJECT
	"$PY" - "$1" "$2" "$3" <<'PY'
import sys
path, size, subj = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = b"Subject: " + subj.encode() + b"\r\n\r\n"
line = b"z" * 62 + b"\r\n"
body = line * ((size - len(head)) // len(line) + 1)
open(path, "wb").write((head + body)[:size - 2] + b"\r\n")
PY
}
for n in 1 2 3; do
	mk "$T/c$n.eml" 3000 "concurrent $n"
done
mk "$T/50k.eml" 50000 "fifty k"
mk "$T/2m.eml" 2000000 "two megabytes"
mk "$T/200k.eml" 200000 "two hundred k"

for n in 1 2 3; do
	hraw_bg recv 'send:EHLO spool.example.net\r\n' recv \
	    "send:MAIL FROM:<c$n@client.example.net>\\r\\n" recv \
	    "send:RCPT TO:<c$n@example.test>\\r\\n" recv 'send:DATA\r\n' recv \
	    "sendfile:$T/c$n.eml" "mark:$T/c$n.in" "waitfile:$T/c.go" \
	    'send:.\r\n' recv 'send:QUIT\r\n' recv
	eval "P$n=\$RAW_PID O$n=\$RAW_OUT"
done
wait_for 15 "[ -f $T/c1.in ] && [ -f $T/c2.in ] && [ -f $T/c3.in ]" ||
    fail "the three messages did not get into DATA together"
wait_for 5 "mxguard_stats && [ \$(counter spool_to_file) -ge 1 ]"
expect_counter spool_to_file 1
good_mail during-spool
touch "$T/c.go"
for n in 1 2 3; do
	RAW_PID=$(eval echo "\$P$n") RAW_OUT=$(eval echo "\$O$n") raw_wait 20
	expect_codes "220 250 250 250 354 250 221"
	expect_sink_message "$T/c$n.eml" "$(sink_find "^Subject: concurrent $n\$")"
done
raw_session recv 'send:EHLO spool.example.net\r\n' recv \
    'send:MAIL FROM:<big@client.example.net>\r\n' recv \
    'send:RCPT TO:<big@example.test>\r\n' recv 'send:DATA\r\n' recv \
    "senddata:$T/50k.eml" recv 'send:QUIT\r\n' recv
expect_codes "220 250 250 250 354 250 221"
expect_counter spool_to_file 3	# + the good mail sent while 8 KB were held
expect_sink_message "$T/50k.eml" "$(sink_find '^Subject: fifty k$')"

# a full disk
stop_mxguard
start_mxguard plain.conf stream_unfiltered=no spool_memory_max=16k spool_dir="$T/spool"
send_one() {	# send_one FILE
	raw_session recv 'send:EHLO spool.example.net\r\n' recv \
	    'send:MAIL FROM:<disk@client.example.net>\r\n' recv \
	    'send:RCPT TO:<disk@example.test>\r\n' recv 'send:DATA\r\n' recv \
	    "senddata:$1" recv 'send:QUIT\r\n' recv
}
send_one "$T/2m.eml"
expect_codes "220 250 250 250 354 451 221"
expect_reply '^451 4\.3\.0 '
expect_log 'decision verdict=tempfail by=spool stage=eom code=451'
expect_counter limit_spool_memory 1
expect_counter spool_error -ge 1
kill -0 "$MXG_PID" && ok "mxguard still running" || fail "mxguard died"
[ -z "$(ls -A "$T/spool")" ] && ok "nothing left in spool_dir" ||
    fail "files left in spool_dir: $(ls -A "$T/spool")"
send_one "$T/200k.eml"
expect_codes "220 250 250 250 354 250 221"
good_mail disk-full
mount -o remount,ro "$T/spool" || fail "cannot remount read-only"
send_one "$T/200k.eml"
expect_codes "220 250 250 250 354 451 221"
expect_reply '^451 4\.3\.0 '
expect_counter limit_spool_memory 2
good_mail read-only
expect_sink_not_contains '^Subject: two megabytes'
expect_sink_count 8
finish
