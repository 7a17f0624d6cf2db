# hostile_lib.sh - helpers for the hostile-client, limit and scale tests;
# sourced after lib.sh:
#
#	. "$(dirname "$0")/lib.sh"
#	. "$E2E_DIR/hostile_lib.sh"
#
#   hraw [-b SRC] STEP ...        tests/e2e/hostile.py raw (smtpraw.py's
#                                 steps plus shutwr, sleep, dribble,
#                                 tlshello, time); sets LAST
#   hraw_bg [-b SRC] STEP ...     the same in the background; raw_wait
#   hostile SUBCOMMAND ARGS...    hostile.py SUBCOMMAND ... 127.0.0.1 MXG_PORT
#   good_mail TAG [swaks opts]    a well-behaved client at the same time:
#                                 swaks must get 250 for its message and
#                                 the message must reach the sink
#   result KEY [FILE]             KEY's value on a "RESULT ... KEY=V" line
#   rss_kb [PID]                  VmRSS of mxguard (or PID), in KB
#   sanitized                     true when mxguard is an ASan build

HOSTILE="$E2E_DIR/hostile.py"
GOOD_SENT=0

# hraw [-b SRC] STEP...: the options must come first (before the steps).
_hraw_args() {
	HRAW_OPTS=()
	while [ $# -gt 0 ]; do
		case $1 in
		-b) HRAW_OPTS+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	HRAW_STEPS=("$@")
}

hraw() {
	local rc
	_hraw_args "$@"
	NSESS=$((NSESS + 1))
	LAST=$T/raw.$NSESS.out
	"$PY" "$HOSTILE" raw -t "${RAW_TIMEOUT:-15}" "${HRAW_OPTS[@]}" \
	    127.0.0.1 "$MXG_PORT" "${HRAW_STEPS[@]}" >"$LAST" 2>&1
	rc=$?
	echo "  hostile raw session $NSESS (exit $rc):"
	_show "$LAST" | head -n 80
	return $rc
}

hraw_bg() {
	_hraw_args "$@"
	NSESS=$((NSESS + 1))
	RAW_OUT=$T/raw.$NSESS.out
	"$PY" "$HOSTILE" raw -t "${RAW_TIMEOUT:-15}" "${HRAW_OPTS[@]}" \
	    127.0.0.1 "$MXG_PORT" "${HRAW_STEPS[@]}" >"$RAW_OUT" 2>&1 &
	RAW_PID=$!
	PIDS="$PIDS $RAW_PID"
}

# hostile SUB [options]: hostile.py SUB with mxguard's address last.
hostile() {
	local sub=$1
	shift
	"$PY" "$HOSTILE" "$sub" "$@" 127.0.0.1 "$MXG_PORT"
}

# result KEY [FILE]: the value of KEY=... on the last RESULT line having it.
result() {
	grep -aE '^RESULT ' "${2:-$LAST}" | tr ' ' '\n' | sed -n "s/^$1=//p" |
	    tail -n 1
}

# good_mail TAG [swaks options]: one message from a well-behaved client,
# now; swaks must succeed (250 after the dot) and the message (Subject:
# good mail TAG) must reach the sink. GOOD_MS: how long the session took.
good_mail() {
	local tag=$1 t0 t1 rc save=$LAST
	shift
	t0=$(date +%s%N)
	swaks_send --to "good@example.test" \
	    --header "Subject: good mail $tag" \
	    --body "A message from a well-behaved client ($tag)." "$@"
	rc=$?
	t1=$(date +%s%N)
	GOOD_MS=$(((t1 - t0) / 1000000))
	GOOD_SENT=$((GOOD_SENT + 1))
	if [ "$rc" = 0 ] && replies | grep -qE '^250 .*(queued|Ok)' &&
	    sed -n '/^ [-~]> \.$/,$p' "$LAST" | grep -qE '^<[-~]  250 '; then
		ok "good mail $tag: 250 after the dot (${GOOD_MS} ms)"
	else
		fail "good mail $tag: swaks exit $rc, no 250 after the dot"
	fi
	if wait_for 10 "grep -rqa '^Subject: good mail $tag\$' $SINK_DIR 2>/dev/null"; then
		ok "good mail $tag reached the sink"
	else
		fail "good mail $tag did not reach the sink"
	fi
	LAST=$save
}

rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' \
	    "/proc/${1:-$MXG_PID}/status" 2>/dev/null
}

sanitized() {
	grep -qa '__asan_init\|AddressSanitizer' "$MXGUARD" 2>/dev/null
}

# log_count RE: lines of mxguard's log matching RE.
log_count() {
	grep -cE -- "$1" "$MXG_LOG"
}

# wait_sessions N [CAP]: until mxguard's gauge "sessions" is at most N
# (sessions close asynchronously after their client is gone).
wait_sessions() {
	local n=$1 cap=${2:-10}
	wait_for "$cap" "mxguard_stats && [ \$(counter sessions) -le $n ]" ||
	    fail "mxguard still has $(counter sessions) sessions after ${cap}s (want <= $n)"
}

# conns_bg NAME [hostile.py conns options]: idle connections held open in
# the background until release_conns NAME; NAME.out has the RESULT and
# SOURCE lines once wait_conns NAME returns.
conns_bg() {
	local name=$1
	shift
	rm -f "$T/$name.ready" "$T/$name.release"
	"$PY" "$HOSTILE" conns --ready "$T/$name.ready" \
	    --release "$T/$name.release" "$@" 127.0.0.1 "$MXG_PORT" \
	    >"$T/$name.out" 2>&1 &
	eval "CONNS_PID_$name=$!"
	PIDS="$PIDS $!"
}

wait_conns() {
	local name=$1 cap=${2:-60}
	wait_for "$cap" "[ -f $T/$name.ready ]" ||
	    fail "connections $name: not all answered within ${cap}s"
	sed 's/^/    /' "$T/$name.out"
}

release_conns() {
	local name=$1 pid
	eval "pid=\$CONNS_PID_$name"
	touch "$T/$name.release"
	wait_for 30 "! kill -0 $pid 2>/dev/null" ||
	    fail "connections $name: not released within 30s"
	wait "$pid" 2>/dev/null
}

# source_count NAME ADDR FIELD: greeted/refused/failed for one source.
source_count() {
	sed -n "s/^SOURCE $2 .*$3=\\([0-9]*\\).*/\\1/p" "$T/$1.out"
}
