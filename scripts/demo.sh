#!/bin/bash
# demo.sh - install what is needed, build mxguard, and show it at work in
# front of a stand-in backup MX (Postfix's smtp-sink) on loopback.
# Five messages are sent; the demo prints what happened to each.
# Usage: bash scripts/demo.sh      (SKIP_DEPS=1 to skip apt-get)
set -eu
cd "$(dirname "$0")/.."
top=$PWD
[ -n "${SKIP_DEPS:-}" ] || sh scripts/deps.sh
[ -x ./configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null

MXPORT=${MXPORT:-2525}
SINKPORT=${SINKPORT:-10025}
work=$(mktemp -d /tmp/mxguard-demo.XXXXXX)
chmod 755 "$work"
mkdir "$work/backup-mx" && chmod 777 "$work/backup-mx"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The stand-in backup MX: keeps each message it accepts as a file.
asuser=
[ "$(id -u)" -ne 0 ] || asuser="-u nobody"
smtp-sink $asuser -d "$work/backup-mx/%M%S." 127.0.0.1:$SINKPORT 100 \
    2>"$work/sink.log" &
pids="$pids $!"
for i in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$SINKPORT") 2>/dev/null && break
	sleep 0.1
done

cat > "$work/mxguard.conf" <<CONF
hostname = mx2.example.org
listen = 127.0.0.1:$MXPORT
relay_domains = example.org
backend = 127.0.0.1:$SINKPORT
filters = access

[access]
client = cidr:$top/rules/client_access.cidr
sender = hash:$top/rules/sender_access
CONF
./mxguard -c "$work/mxguard.conf" 2>"$work/mxguard.log" &
pids="$pids $!"
for i in $(seq 50); do
	grep -q "mxguard ready" "$work/mxguard.log" && break
	sleep 0.1
done
grep -q "mxguard ready" "$work/mxguard.log" || {
	cat "$work/mxguard.log"; echo "mxguard did not start"; exit 1; }

echo "mxguard listens on 127.0.0.1:$MXPORT and relays to the stand-in"
echo "backup MX on 127.0.0.1:$SINKPORT. Its configuration:"
sed 's/^/    /' "$work/mxguard.conf"
echo

n=0
show() {			# show TITLE -- swaks args...
	local title=$1; shift
	n=$((n + 1))
	echo "== $n. $title"
	swaks --server 127.0.0.1:$MXPORT "$@" 2>&1 |
	    grep -E '^(<\*\*|<-) +[245][0-9][0-9] ' | grep -vE '^<- +250[- ](mx2|PIPE|SIZE|ENH|8BIT|DSN|SMTPUTF8)' |
	    sed 's/^/   client saw: /' | tail -3
	sleep 0.2
	tail -n +1 "$work/mxguard.log" | grep ' decision ' | tail -1 |
	    sed 's/^.*decision /   mxguard:    /'
	echo
}
show "a good message for bob@example.org" \
    --from alice@partner.example --to bob@example.org --h-Subject "Demo 1"
show "a message for a domain mxguard does not serve (never an open relay)" \
    --from alice@partner.example --to someone@elsewhere.example
show "a sender on the primary's blocklist (sender_access)" \
    --from spammer@bad.example --to bob@example.org
show "a client on the primary's blocklist (client_access.cidr)" \
    --local-interface 127.0.0.66 --from carol@partner.example --to bob@example.org
n=$((n + 1))
echo "== $n. an SMTP smuggling attempt (\"\\n.\\n\" inside the data)"
python3 - "$MXPORT" <<'PY' | sed 's/^/   client saw: /'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline().decode()
        if l[3:4] != "-":
            return l.strip()
reply()
s.sendall(b"EHLO demo\r\n"); reply()
s.sendall(b"MAIL FROM:<eve@partner.example>\r\n"); reply()
s.sendall(b"RCPT TO:<bob@example.org>\r\n"); reply()
s.sendall(b"DATA\r\n"); reply()
s.sendall(b"Subject: hi\r\n\r\nhello\r\n\n.\nMAIL FROM:<ceo@example.org>\r\n"
          b"RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n")
print(reply())
s.sendall(b"QUIT\r\n"); reply()
PY
sleep 0.2
grep ' decision ' "$work/mxguard.log" | tail -1 | sed 's/^.*decision /   mxguard:    /'
echo
echo "== What reached the backup MX: $(ls "$work/backup-mx" | wc -l) message(s)"
for f in "$work"/backup-mx/*; do
	[ -f "$f" ] || continue
	grep -E '^(X-Mail-Args|X-Rcpt-Args|Subject):' "$f" | sed 's/^/   /'
	sed -n '/^Received: from .*(unknown/,/^\t.*+0000/p' "$f" | sed 's/^/   /'
done
echo
echo "Only message 1 reached the backup MX; the others were refused during"
echo "the SMTP dialogue, so no bounce is ever made. mxguard's log: $work (removed on exit)"
