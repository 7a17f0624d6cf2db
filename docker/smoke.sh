#!/bin/bash
# docker/smoke.sh - smoke test of the built image (docker/build.sh first).
#
# Runs localhost/mxguard:latest with --network=host in front of a stand-in
# backup MX (Postfix's smtp-sink on a free 127.0.0.1 port, as nobody), its
# config mounted read-only (listen on another free 127.0.0.1 port, backend
# the sink), and checks:
#   - the image runs as a non-root user;
#   - mxguard -t accepts the mounted config inside the image;
#   - the container starts and logs "mxguard ready";
#   - a message for a relay domain: 250 at the end of data, and the message
#     (its unique Subject) at the sink;
#   - a message for another domain: 554 5.7.1 at RCPT, nothing at the sink;
#   - podman stop -t 10 (SIGTERM): the container exits 0, before the
#     timeout (no SIGKILL).
# Prints one PASS/FAIL line per check and "N passed, N failed"; exits 1 if
# anything failed. Removes the container and stops the sink on any exit.
#
# Usage (root):  bash docker/smoke.sh      (needs swaks and smtp-sink:
#                                          apt-get installs them if missing)
# Run by hand; not part of scripts/test-all.sh.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=docker/lib.sh
. docker/lib.sh

need_root
# postfix (for smtp-sink) asks how to configure itself: nothing is wanted
command -v smtp-sink >/dev/null 2>&1 ||
    echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections
need_packages podman:podman runc:runc swaks:swaks smtp-sink:postfix ss:iproute2
containers_conf
podman image exists "$IMAGE" || die "no image $IMAGE: run docker/build.sh first"

NAME=mxguard-smoke-$$
PASSED=0
FAILED=0
SINK_PID=
WORK=$(mktemp -d /tmp/mxguard-smoke.XXXXXX) || die "mktemp failed"
chmod 755 "$WORK"

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }

cleanup() {
	podman rm -f -t 5 "$NAME" >/dev/null 2>&1
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# wait_for SECONDS 'condition': polls until the shell condition holds.
wait_for() {
	local end=$((SECONDS + $1))
	until eval "$2"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

listening() { [ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]; }

# A loopback port nobody uses (below the ephemeral range).
USED=
free_port() {
	local p _
	for _ in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		case " $USED " in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
			USED="$USED $p"
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

sink_messages() { find "$WORK/sink" -type f -size +0 2>/dev/null | wc -l; }

show_logs() {
	echo "---- container log ----"
	podman logs "$NAME" 2>&1 | tail -n 40 | sed 's/^/    /'
	echo "---- sink log ----"
	sed 's/^/    /' "$WORK/sink.log" 2>/dev/null | tail -n 20
}

# ---- the stand-in backup MX ---------------------------------------------------
mkdir "$WORK/sink"
chown nobody "$WORK/sink"
SINK_PORT=$(free_port)
smtp-sink -u nobody -d "$WORK/sink/%M." "127.0.0.1:$SINK_PORT" 100 \
    >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
wait_for 5 "listening $SINK_PORT || ! kill -0 $SINK_PID 2>/dev/null"
listening "$SINK_PORT" || { cat "$WORK/sink.log"; die "smtp-sink did not start"; }
say "smtp-sink (as nobody) on 127.0.0.1:$SINK_PORT"

# ---- the configuration, mounted read-only -------------------------------------
MX_PORT=$(free_port)
cat > "$WORK/mxguard.conf" <<EOF
# docker/smoke.sh: mxguard in front of smtp-sink, both on the host's loopback
hostname = mx2.example.org
listen = 127.0.0.1:$MX_PORT
relay_domains = example.org
backend = 127.0.0.1:$SINK_PORT
log = stderr
drain_timeout = 8s
EOF
chmod 644 "$WORK/mxguard.conf"
MOUNT="$WORK/mxguard.conf:/etc/mxguard/mxguard.conf:ro"

uid=$(podman run --rm --pull=never --network=none "$IMAGE" id -u 2>&1)
if [ -n "$uid" ] && [ "$uid" != 0 ] && [ "$uid" -eq "$uid" ] 2>/dev/null; then
	pass "the image runs as a non-root user (uid $uid)"
else
	fail "the image's user: $uid (want a non-root uid)"
fi

if out=$(podman run --rm --pull=never --network=none -v "$MOUNT" "$IMAGE" \
    mxguard -t -c /etc/mxguard/mxguard.conf 2>&1); then
	pass "mxguard -t accepts the mounted config"
else
	fail "mxguard -t on the mounted config: $out"
fi

# ---- start ----------------------------------------------------------------------
t=$(now)
if ! podman run -d --pull=never --name "$NAME" --network=host \
    -v "$MOUNT" "$IMAGE" >/dev/null; then
	fail "podman run"
	exit 1
fi
if wait_for 20 "podman logs $NAME 2>&1 | grep -q 'mxguard ready'" &&
    listening "$MX_PORT"; then
	pass "container started, mxguard ready on 127.0.0.1:$MX_PORT ($(elapsed "$t") s)"
else
	fail "mxguard not ready within 20 s"
	show_logs
	exit 1
fi

# ---- a message for a relay domain: 250, and at the sink --------------------------
TOKEN="smoke-$$-$RANDOM$RANDOM"
swaks --server "127.0.0.1:$MX_PORT" --helo client.example.net \
    --from sender@example.net --to user@example.org \
    --header "Subject: $TOKEN" --body "container smoke test $TOKEN" \
    --timeout 20 >"$WORK/ok.out" 2>&1
rc=$?
# the reply to the end of data: the line after " -> ."
eod=$(awk 'prev { print; exit } /^ -> \.$/ { prev = 1 }' "$WORK/ok.out")
if [ "$rc" -eq 0 ] && [[ "$eod" == "<-  250"* ]]; then
	pass "relay domain: $eod"
else
	fail "relay domain: swaks exit $rc, reply to end of data: ${eod:-none}"
	sed 's/^/    /' "$WORK/ok.out"
fi
if wait_for 5 "grep -rqs -- '$TOKEN' '$WORK/sink'"; then
	pass "the message ($TOKEN) is at the sink"
else
	fail "the message ($TOKEN) did not reach the sink"
fi
before=$(sink_messages)

# ---- a message for another domain: 554 at RCPT, nothing at the sink --------------
swaks --server "127.0.0.1:$MX_PORT" --helo client.example.net \
    --from sender@example.net --to user@elsewhere.example.com \
    --timeout 20 >"$WORK/denied.out" 2>&1
rc=$?
rcpt=$(awk 'prev { print; exit } /^ -> RCPT TO:/ { prev = 1 }' "$WORK/denied.out")
if [[ "$rcpt" == "<** 554 5.7.1"* ]]; then
	pass "other domain: $rcpt"
else
	fail "other domain: swaks exit $rc, reply to RCPT: ${rcpt:-none}"
	sed 's/^/    /' "$WORK/denied.out"
fi
sleep 0.5
after=$(sink_messages)
if [ "$after" -eq "$before" ]; then
	pass "nothing more at the sink ($after message(s) in all)"
else
	fail "the sink has $after message(s), $before before the denied one"
fi

# ---- SIGTERM: podman stop -t 10 -------------------------------------------------
t=$(now)
podman stop -t 10 "$NAME" >/dev/null 2>&1
took=$(elapsed "$t")
code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}' 2>&1)
if [ "$code" = 0 ] && awk -v s="$took" 'BEGIN { exit !(s < 9.5) }'; then
	pass "podman stop -t 10: exit code 0 after $took s"
else
	fail "podman stop -t 10: exit code $code after $took s"
fi
if podman logs "$NAME" 2>&1 | grep -q 'shutting down'; then
	pass "mxguard logged its drain on SIGTERM"
else
	fail "no 'shutting down' in the log (SIGTERM not seen?)"
fi

[ "$FAILED" -eq 0 ] || show_logs
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
