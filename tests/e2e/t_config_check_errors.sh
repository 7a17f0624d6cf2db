#!/bin/sh
# t_config_check_errors: `mxguard -t -c FILE` accepts a good file (exit 0)
# and reports each error in a bad one as FILE:LINE: message (exit 1): an
# unknown key, a bad value, a bad choice, a bad relay domain, a missing
# required key, a missing table, an unknown section, a bad table line.
# `mxguard -k` lists every key with its default.
. "$(dirname "$0")/lib.sh"

BACKEND_PORT=2525
MXG_PORT=2526
# check NAME EXPECTED-EXIT REGEX...: runs -t on $T/NAME.conf; every REGEX
# must match a line of its output (stdout and stderr)
check() {
	local name=$1 want=$2 rc re
	shift 2
	"$MXGUARD" -t -c "$T/$name.conf" >"$T/$name.out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$name: exit $rc"
	else
		fail "$name: mxguard -t exited $rc, want $want; output:"
		sed 's/^/    /' "$T/$name.out"
	fi
	for re in "$@"; do
		if grep -qE -- "$re" "$T/$name.out"; then
			ok "$name: /$re/"
		else
			fail "$name: no line matching /$re/ in:"
			sed 's/^/    /' "$T/$name.out"
		fi
	done
}
q() { printf '%s' "$T/$1.conf" | sed 's/[.]/\\./g'; }

write_conf plain.conf "$T/good.conf"
check good 0 "^$(q good): configuration OK$"

cat > "$T/unknown.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525
bogus_key = 1
listen = 127.0.0.1:2526
EOF2
check unknown 1 "^$(q unknown):3: .*bogus_key"

cat > "$T/badvalue.conf" <<EOF2
# a comment
relay_domains = example.test
backend = 127.0.0.1:2525

max_message_size = lots
EOF2
check badvalue 1 "^$(q badvalue):5: .*max_message_size"

cat > "$T/badchoice.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525
bare_newline = sometimes
backend_tls = perhaps
EOF2
check badchoice 1 "^$(q badchoice):3: .*bare_newline" \
    "^$(q badchoice):4: .*backend_tls"

cat > "$T/baddomain.conf" <<EOF2
backend = 127.0.0.1:2525
relay_domains = example.test, bad..domain
EOF2
check baddomain 1 "^$(q baddomain):2: relay_domains: \"bad\.\.domain\" is not a domain"

cat > "$T/norelay.conf" <<EOF2
backend = 127.0.0.1:2525
listen = 127.0.0.1:2526
EOF2
check norelay 1 "^$(q norelay)(:[0-9]+)?: relay_domains: required"

cat > "$T/badbackend.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:notaport
EOF2
check badbackend 1 "^$(q badbackend):2: .*backend"

cat > "$T/notable.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525
filters = access

[access]
sender = hash:$T/no-such-table
EOF2
check notable 1 "no-such-table"

cat > "$T/section.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525

[nosuch]
key = value
EOF2
check section 1 "^$(q section):[0-9]+: .*nosuch"

cat > "$T/badtable" <<EOF2
# a comment
ok@example.net OK
bad@example.net PREPEND no colon here
EOF2
cat > "$T/badtable.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525
filters = access
[access]
sender = hash:$T/badtable
EOF2
check badtable 1 "$(printf '%s' "$T/badtable" | sed 's/[.]/\\./g'):3: .*PREPEND"

cat > "$T/many.conf" <<EOF2
relay_domains = example.test
backend = 127.0.0.1:2525
bogus_one = 1
max_rcpts = -5
bogus_two = 2
EOF2
check many 1 "^$(q many):3: " "^$(q many):4: " "^$(q many):5: " "3 errors"

"$MXGUARD" -t -c "$T/does-not-exist.conf" >"$T/missing.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q 'does-not-exist.conf' "$T/missing.out" &&
    ok "a missing file: exit 1, named" ||
    { fail "a missing file: exit $rc:"; cat "$T/missing.out"; }

# a check never starts a server
grep -q 'mxguard ready' "$T"/*.out && fail "-t started a server" ||
    ok "-t only checks"

"$MXGUARD" -k >"$T/keys.out" 2>&1
rc=$?
[ "$rc" = 0 ] && ok "-k: exit 0" || fail "-k exited $rc"
for re in '^relay_domains = \(required\)$' '^backend = \(required\)$' \
    '^#?bare_newline = reject$' '^#?max_message_size = ' '^\[access\]$' \
    '^#?drain_timeout = '; do
	grep -qE -- "$re" "$T/keys.out" && ok "-k lists /$re/" ||
	    fail "-k does not list /$re/"
done
finish
