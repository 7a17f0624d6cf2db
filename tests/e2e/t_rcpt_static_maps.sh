#!/bin/sh
# t_rcpt_static_maps: recipient maps shared with the primary, in the text
# format of Postfix's relay_recipient_maps and as a plain list; extensions
# and case as Postfix handles them; 550 5.1.1 at RCPT for anyone else; the
# files reload when they change, and a version that is empty, unreadable
# or broken is refused and logged, never swapped in (nor by SIGHUP).
. "$(dirname "$0")/rcptlib.sh"

start_sink
cat > "$T/relay_recipients.new" <<'EOF2'
# the primary's relay_recipient_maps source (postmap format)
alice@example.test	OK
Bob@Example.Test	anything
carol+vip@example.test	OK
@other.test		catch-all
EOF2
mv "$T/relay_recipients.new" "$T/relay_recipients"
printf '# extra\ndave@example.test\n' > "$T/extra.list"
mxg_conf a <<EOF2
store = lmdb:$T
filters = rcpt
[rcpt]
maps = hash:$T/relay_recipients, list:$T/extra.list
map_domains = example.test, other.test
reload_check_interval = 1s
harvest_tarpit_after = 0
harvest_disconnect_after = 0
EOF2
start_mxguard a "$T/a.conf"

smtp_session a --rcpt alice@example.test --rcpt ALICE+news@EXAMPLE.test \
    --rcpt bob@example.test --rcpt carol+vip@example.test \
    --rcpt carol@example.test --rcpt carol+other@example.test \
    --rcpt dave@example.test --rcpt dave+x@example.test \
    --rcpt eve@example.test --rcpt +alice@example.test \
    --rcpt anyone@other.test --rcpt x@catchall.test --data -
expect_rcpt alice@example.test '250 '
expect_rcpt ALICE+news@EXAMPLE.test '250 '
expect_rcpt bob@example.test '250 '
expect_rcpt carol+vip@example.test '250 '
expect_rcpt carol@example.test '550 5\.1\.1 .*User unknown in relay recipient table'
expect_rcpt carol+other@example.test '550 5\.1\.1 '
expect_rcpt dave@example.test '250 '
expect_rcpt dave+x@example.test '250 '
expect_rcpt eve@example.test '550 5\.1\.1 '
expect_rcpt +alice@example.test '550 5\.1\.1 '
expect_rcpt anyone@other.test '250 '
expect_rcpt x@catchall.test '250 '	# not in map_domains: the backend decides
expect_last '^EOM 250 '
expect_counter a rcpt_map_unknown -eq 4

note "a new version is picked up without SIGHUP"
cp "$T/relay_recipients" "$T/rr.good"
{ cat "$T/rr.good"; printf 'eve@example.test OK\n'; } > "$T/rr.new"
mv "$T/rr.new" "$T/relay_recipients"
wait_log a 'relay_recipients reloaded: 5 entries \(was 4\)'
smtp_session a --rcpt eve@example.test
expect_rcpt eve@example.test '250 '
cp "$T/relay_recipients" "$T/rr.good"

note "an emptied file is refused; the loaded version stays"
: > "$T/relay_recipients"
wait_log a 'relay_recipients is now empty, it had 5 entries: refused'
smtp_session a --rcpt alice@example.test --rcpt eve@example.test
expect_rcpt alice@example.test '250 '
expect_rcpt eve@example.test '250 '

note "a broken file is refused"
printf 'alice@example.test OK\nmallory@example.test\n' > "$T/relay_recipients"
wait_log a 'relay_recipients changed but does not load'
expect_log a 'relay_recipients:2: expected format: key whitespace value'
smtp_session a --rcpt eve@example.test
expect_rcpt eve@example.test '250 '

note "an unreadable (vanished) file is refused"
rm -f "$T/relay_recipients"
wait_log a 'relay_recipients: No such file or directory; the loaded version \(5 entries\) stays'
smtp_session a --rcpt eve@example.test --rcpt zed@example.test
expect_rcpt eve@example.test '250 '
expect_rcpt zed@example.test '550 5\.1\.1 '

note "SIGHUP with an emptied map: the reload is refused"
: > "$T/relay_recipients"
kill -HUP "$MXG_PID_a"
wait_log a 'empty, but it had 5 entries: refused'
wait_log a 'reload failed'
smtp_session a --rcpt eve@example.test
expect_rcpt eve@example.test '250 '

note "the good file back: reloaded, and SIGHUP works again"
cp "$T/rr.good" "$T/relay_recipients"
kill -HUP "$MXG_PID_a"
wait_log a 'reload: configuration loaded'
smtp_session a --rcpt eve@example.test --rcpt alice+x@example.test
expect_rcpt eve@example.test '250 '
expect_rcpt alice+x@example.test '250 '
expect_counter a rcpt_map_reload_refused -ge 3
expect_counter a rcpt_map_reload_ok -ge 1
finish
