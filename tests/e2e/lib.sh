# lib.sh - the end-to-end test harness. Each tests/e2e/t_*.sh sources it:
#
#	. "$(dirname "$0")/lib.sh"
#
# From `make check` the environment has MXGUARD (the binary), SRCDIR and
# TESTDATA; by hand: MXGUARD=./mxguard SRCDIR=$PWD sh tests/e2e/t_x.sh
# (E2E_KEEP=1 keeps the test's directory, E2E_DEBUG=1 runs mxguard with
# log_level = debug, E2E_TRACE=1 traces the shell with timestamps).
#
# A test gets a private directory ($T), free loopback ports, and a trap
# that stops every program it started. Programs:
#   start_sink [smtp-sink options]    the backend; SINK_PORT, SINK_DIR
#   start_backup_postfix [k=v ...]    a real Postfix as backup MX relaying
#                                     to an smtp-sink standing in for the
#                                     primary (PRIMARY_DIR); PF_PORT, PF_DIR
#   start_mxguard TEMPLATE [k=v ...]  config from tests/data/conf/TEMPLATE
#                                     (@PORT@ @BACKEND_PORT@ @DIR@ ...);
#                                     MXG_PORT, MXG_LOG, MXG_PID, MXG_CONF
#   stop_mxguard [CAP]                SIGTERM, wait; returns the exit code
# Clients (each sets LAST, the transcript the reply assertions read):
#   swaks_send [swaks options]        swaks to mxguard
#   raw_session STEP ...              tests/e2e/smtpraw.py to mxguard
#   raw_session_bg STEP ... / raw_wait  the same in the background
# Assertions print what went wrong and mark the test failed; the test goes
# on (so one run shows every problem) unless it calls fatal:
#   expect_reply RE / expect_no_reply RE / expect_codes "220 250 ..."
#   expect_log RE / expect_no_log RE / wait_log RE [CAP]
#   expect_sink_count N [DIR] / expect_sink_contains RE [FILE|DIR]
#   expect_counter NAME [OP] VALUE    (SIGUSR1's "stats" line)
#   wait_for CAP 'shell condition'    poll, never a fixed sleep
# finish ends the test: PASS (exit 0) or FAIL (exit 1). Exit 77 = skip.

# The harness and tests are bash (postfix.sh is too): re-run under bash
# when started by another sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# E2E_TRACE=1: a timestamped shell trace, for slow or puzzling tests
if [ "${E2E_TRACE:-0}" = 1 ]; then
	PS4='+ ${EPOCHREALTIME} '
	set -x
fi

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SMTPRAW="$E2E_DIR/smtpraw.py"
SINKMSG="$E2E_DIR/sinkmsg.py"
PF_LOCK=/tmp/mxguard-e2e-postfix.lock

PF_DIRS=""
NSESS=0
MXG_PID=""
BACKEND_UP=0

# ---- cleanup ---------------------------------------------------------------

_cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM HUP
	trap '' PIPE	# the reader may be gone: clean up anyway
	set +e
	if [ -n "$MXG_PID" ] && kill -0 "$MXG_PID" 2>/dev/null; then
		kill -TERM "$MXG_PID" 2>/dev/null
		# up to 10 s: a sanitized build runs its leak check at exit
		for i in $(seq 1 100); do
			kill -0 "$MXG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MXG_PID" 2>/dev/null
	fi
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for i in $(seq 1 20); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in $PF_DIRS; do
		pf_stop "$p"
		_pf_forget_dir "$p"
	done
	_sanitizer_check
	if [ "${SKIPPED:-0}" = 1 ]; then
		rc=77
	elif [ "$FAILED" -gt 0 ]; then
		if [ -n "$MXG_LOG" ] && [ -f "$MXG_LOG" ]; then
			echo "---- last lines of mxguard's log ($MXG_LOG)"
			tail -n 40 "$MXG_LOG"
			echo "----"
		fi
		printf 'FAIL: %s (%d failed check%s)\n' "$TEST" "$FAILED" \
		    "$([ "$FAILED" = 1 ] || echo s)"
		rc=1
	elif [ "$rc" = 0 ]; then
		printf 'PASS: %s\n' "$TEST"
	else
		printf 'FAIL: %s (exit %s)\n' "$TEST" "$rc"
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

finish() {
	exit 0		# the trap reports and picks the status
}

# A sanitizer report from any mxguard this test ran (every log, also the
# rotated mxguard.log.N, and the *.out files of tests that run mxguard
# directly) fails the test, whatever else passed: ASan and LSan write
# "==PID==ERROR: AddressSanitizer/LeakSanitizer", UBSan "FILE:LINE:COL:
# runtime error:". Under a plain build this finds nothing. A skipped
# test is failed too: mxguard may have run before the skip.
SAN_RE='ERROR: (Address|Leak|Thread|Memory)Sanitizer|^[^ ]+:[0-9]+:[0-9]+: runtime error: |SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer'
_sanitizer_check() {
	local f hits=""
	[ -d "$T" ] || return 0
	for f in "$T"/mxguard.log* "$T"/*.out; do
		[ -f "$f" ] || continue
		if grep -qaE -- "$SAN_RE" "$f"; then
			hits="$hits $f"
		fi
	done
	[ -n "$hits" ] || return 0
	SKIPPED=0
	for f in $hits; do
		fail "sanitizer report in $(basename "$f"):"
		grep -aE -A 30 -- "$SAN_RE" "$f" | head -n 60 | sed 's/^/    /'
	done
}

T=$(mktemp -d "${TMPDIR:-/tmp}/mxg-e2e.$TEST.XXXXXX") || {
	echo "cannot create a temporary directory"; exit 99; }
chmod 755 "$T"
trap _cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
MXG_LOG=""

for _tool in "$PY" smtp-sink swaks ss; do
	command -v "$_tool" >/dev/null 2>&1 || skip "$_tool not installed"
done
[ -x "$MXGUARD" ] || fatal "no mxguard binary at $MXGUARD"

# (waiting and ports: wait_for, pick_port, port_listening in common.sh)

# ---- smtp-sink -----------------------------------------------------------------

# _spawn_sink DIR LOG [options]: smtp-sink keeping each message in DIR
# (one file each); sets _SP_PORT and _SP_PID.
_spawn_sink() {
	local dir=$1 log=$2 try port pid
	shift 2
	mkdir -p "$dir"
	chown nobody "$dir" 2>/dev/null || chmod 777 "$dir"
	for try in 1 2 3; do
		if [ -n "${SINK_FIXED_PORT:-}" ]; then
			port=$SINK_FIXED_PORT
		else
			port=$(pick_port) || return 1
		fi
		smtp-sink -u nobody "$@" -d "$dir/%M." "127.0.0.1:$port" 100 \
		    >>"$log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		if wait_for 5 "port_listening $port || ! kill -0 $pid 2>/dev/null" &&
		    kill -0 "$pid" 2>/dev/null && port_listening "$port"; then
			_SP_PORT=$port
			_SP_PID=$pid
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	cat "$log"
	fatal "smtp-sink did not start: smtp-sink $*"
}

# start_sink [smtp-sink options]: the backend mxguard relays to (on
# SINK_FIXED_PORT if set: a sink coming back on the same port).
start_sink() {
	SINK_DIR=$T/sink
	_spawn_sink "$SINK_DIR" "$T/sink.log" "$@"
	SINK_PORT=$_SP_PORT
	SINK_PID=$_SP_PID
	BACKEND_PORT=$SINK_PORT
	BACKEND_UP=1
	note "smtp-sink $* on port $SINK_PORT (pid $SINK_PID)"
}

# stop_sink: ends the sink politely (messages already kept stay).
stop_sink() {
	kill -TERM "$SINK_PID" 2>/dev/null
	wait_for 5 "! kill -0 $SINK_PID 2>/dev/null" ||
	    kill -KILL "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	BACKEND_UP=0
}

# kill_sink: SIGKILL, and wait until it is gone.
kill_sink() {
	kill -KILL "$SINK_PID" 2>/dev/null
	wait_for 5 "! kill -0 $SINK_PID 2>/dev/null" ||
	    fail "smtp-sink $SINK_PID survived SIGKILL"
	wait "$SINK_PID" 2>/dev/null
	BACKEND_UP=0
}

# The kept messages (smtp-sink killed mid-transaction leaves an empty
# file: not a message).
sink_files() {
	find "${1:-$SINK_DIR}" -type f -size +0 2>/dev/null | sort
}

sink_count() {
	sink_files "$@" | wc -l
}

expect_sink_count() {
	local want=$1 dir=${2:-$SINK_DIR} got
	got=$(sink_count "$dir")
	if [ "$got" -eq "$want" ]; then
		ok "$want message(s) at the sink $(basename "$dir")"
		return 0
	fi
	fail "expected $want message(s) at the sink $dir, found $got"
	sink_files "$dir" | head -n 5 | while read -r f; do
		echo "---- $f"
		head -c 2000 "$f"
	done
	return 1
}

wait_sink_count() {
	local want=$1 cap=${2:-20} dir=${3:-$SINK_DIR}
	wait_for "$cap" "[ \$(sink_count $dir) -ge $want ]"
	expect_sink_count "$want" "$dir"
}

# expect_sink_contains RE [FILE|DIR]: some kept message matches RE.
expect_sink_contains() {
	local re=$1 where=${2:-$SINK_DIR}
	if grep -rqaE -- "$re" "$where" 2>/dev/null; then
		ok "sink has /$re/"
		return 0
	fi
	fail "nothing at the sink ($where) matches /$re/"
	return 1
}

expect_sink_not_contains() {
	local re=$1 where=${2:-$SINK_DIR}
	if grep -rqaE -- "$re" "$where" 2>/dev/null; then
		fail "the sink ($where) has /$re/:"
		grep -raE -- "$re" "$where" | head -n 5
		return 1
	fi
	ok "sink has no /$re/"
	return 0
}

# ---- Postfix -------------------------------------------------------------------

. "$SRCDIR/tests/lib/postfix.sh"

_pf_forget_dir() {
	pf_forget_dir "$1"
}

# start_backup_postfix [main.cf key=value ...]: a real Postfix configured as
# a backup MX for example.test that relays to an smtp-sink standing in for
# the primary (PRIMARY_DIR, PRIMARY_PORT). mxguard's backend: PF_PORT.
start_backup_postfix() {
	[ "$(id -u)" = 0 ] || skip "a private Postfix needs root"
	command -v postfix >/dev/null 2>&1 || skip "postfix not installed"
	PRIMARY_DIR=$T/primary
	_spawn_sink "$PRIMARY_DIR" "$T/primary.log"
	PRIMARY_PORT=$_SP_PORT
	PRIMARY_PID=$_SP_PID
	PF_DIR=$T/pf
	PF_PORT=$(pick_port) || fatal "no port"
	(
		flock 9
		pf_create "$PF_DIR" "$PF_PORT" \
		    "relay_domains = example.test" \
		    "relay_transport = relay:[127.0.0.1]:$PRIMARY_PORT" \
		    "mynetworks = 192.0.2.1/32" \
		    "message_size_limit = 52428800" \
		    "smtp_tls_security_level = none" \
		    "smtpd_tls_security_level = none" \
		    "notify_classes =" "$@"
	) 9>"$PF_LOCK" || fatal "pf_create failed"
	# STARTTLS needs tlsmgr (postfix.sh's master.cf has none)
	pf_master "$PF_DIR" 'tlsmgr unix - - n 1000? 1 tlsmgr'
	PF_DIRS="$PF_DIRS $PF_DIR"
	pf_start "$PF_DIR" || fatal "Postfix did not start in $PF_DIR"
	BACKEND_PORT=$PF_PORT
	BACKEND_UP=1
	note "Postfix backup MX on port $PF_PORT relaying to smtp-sink on $PRIMARY_PORT"
}

# ---- mxguard -------------------------------------------------------------------

# write_conf TEMPLATE OUT [key=value ...]: the template with its
# placeholders filled; each key=value replaces that key's line in the
# top section, or is added before the first [section].
write_conf() {
	local tmpl=$1 out=$2 kv
	shift 2
	case $tmpl in
	/*) ;;
	*) tmpl=$TESTDATA/conf/$tmpl ;;
	esac
	[ -f "$tmpl" ] || fatal "no config template $tmpl"
	sed -e "s|@PORT@|${MXG_PORT:-0}|g" \
	    -e "s|@BACKEND_PORT@|${BACKEND_PORT:-0}|g" \
	    -e "s|@DIR@|$T|g" \
	    -e "s|@TESTDATA@|$TESTDATA|g" \
	    -e "s|@LOG_LEVEL@|$([ "${E2E_DEBUG:-0}" = 1 ] && echo debug || echo info)|g" \
	    "$tmpl" > "$out.tmp"
	for kv in "$@"; do
		awk -v kv="$kv" '
			BEGIN { k = kv; sub(/[ \t]*=.*/, "", k)
				v = kv; sub(/^[^=]*=[ \t]*/, "", v)
				line = k " = " v }
			!done && /^\[/ { print line; done = 1 }
			!done && $0 ~ "^[ \t]*" k "[ \t]*=" { print line; done = 1; next }
			{ print }
			END { if (!done) print line }
		' "$out.tmp" > "$out.tmp2" && mv "$out.tmp2" "$out.tmp"
	done
	mv "$out.tmp" "$out"
}

# start_mxguard TEMPLATE [key=value ...]: runs mxguard in the foreground
# (in the background of the test), waits for "mxguard ready" (at most
# 10 s). When the test started a backend, mxguard must also have found
# it up by then.
start_mxguard() {
	local tmpl=$1 try
	shift
	MXG_CONF=$T/mxguard.conf
	MXG_LOG=$T/mxguard.log
	for try in 1 2 3; do
		MXG_PORT=$(pick_port) || fatal "no port"
		write_conf "$tmpl" "$MXG_CONF" "$@"
		# an earlier instance's log is kept as mxguard.log.N
		[ -s "$MXG_LOG" ] && mv "$MXG_LOG" "$MXG_LOG.$(ls "$T" | grep -c '^mxguard\.log')"
		: > "$MXG_LOG"
		"$MXGUARD" -c "$MXG_CONF" >>"$MXG_LOG" 2>&1 &
		MXG_PID=$!
		if wait_for 10 "grep -q 'mxguard ready' $MXG_LOG || ! kill -0 $MXG_PID 2>/dev/null" &&
		    kill -0 "$MXG_PID" 2>/dev/null; then
			break
		fi
		if kill -0 "$MXG_PID" 2>/dev/null; then
			cat "$MXG_LOG"
			fatal "mxguard did not say \"mxguard ready\" within 10 s"
		fi
		wait "$MXG_PID"
		echo "mxguard exited with status $? at start:"
		cat "$MXG_LOG"
		MXG_PID=""
		grep -qi 'in use' "$MXG_LOG" || fatal "mxguard did not start"
	done
	[ -n "$MXG_PID" ] || fatal "mxguard did not start"
	note "mxguard on port $MXG_PORT (pid $MXG_PID), backend port ${BACKEND_PORT:-none}"
	if [ "$BACKEND_UP" = 1 ] && ! grep -q 'backend .* is up' "$MXG_LOG"; then
		fail "the backend (port $BACKEND_PORT) is listening, yet mxguard became ready without finding it up:"
		grep -E 'backend|ready' "$MXG_LOG"
	fi
}

# stop_mxguard [CAP]: SIGTERM; waits at most CAP (15) seconds for the exit
# and returns mxguard's exit status (124 if it had to be killed).
stop_mxguard() {
	local cap=${1:-15} rc
	[ -n "$MXG_PID" ] || return 0
	kill -TERM "$MXG_PID" 2>/dev/null
	if ! wait_for "$cap" "! kill -0 $MXG_PID 2>/dev/null"; then
		fail "mxguard still running ${cap}s after SIGTERM"
		kill -KILL "$MXG_PID" 2>/dev/null
		wait "$MXG_PID" 2>/dev/null
		MXG_PID=""
		return 124
	fi
	wait "$MXG_PID"
	rc=$?
	MXG_PID=""
	return "$rc"
}

# sighup: reload, and wait until mxguard has logged the outcome.
sighup() {
	local n
	n=$(grep -cE 'reload: configuration loaded|reload failed' "$MXG_LOG")
	kill -HUP "$MXG_PID"
	wait_for 10 "[ \$(grep -cE 'reload: configuration loaded|reload failed' $MXG_LOG) -gt $n ]" ||
	    fail "mxguard logged no reload outcome 10 s after SIGHUP"
}

# mxguard_stats: SIGUSR1, then STATS_LINE is the new "stats" line.
mxguard_stats() {
	local n
	n=$(grep -c ': stats ' "$MXG_LOG")
	kill -USR1 "$MXG_PID" 2>/dev/null || { fail "mxguard is not running"; return 1; }
	if ! wait_for 5 "[ \$(grep -c ': stats ' $MXG_LOG) -gt $n ]"; then
		fail "no stats line 5 s after SIGUSR1"
		return 1
	fi
	STATS_LINE=$(grep ': stats ' "$MXG_LOG" | tail -n 1)
}

# counter NAME: its value in STATS_LINE (absent: 0).
counter() {
	local v
	v=$(printf '%s\n' "$STATS_LINE" | tr ' ' '\n' | sed -n "s/^$1=//p")
	echo "${v:-0}"
}

# expect_counter NAME [OP] VALUE: a fresh stats dump, then the test
# (OP: -eq (default) -ge -le -gt -lt -ne).
expect_counter() {
	local name=$1 op=-eq want got
	if [ $# = 3 ]; then
		op=$2
		want=$3
	else
		want=$2
	fi
	mxguard_stats || return 1
	got=$(counter "$name")
	if [ "$got" "$op" "$want" ]; then
		ok "counter $name=$got ($op $want)"
		return 0
	fi
	fail "counter $name is $got, expected $op $want"
	echo "  $STATS_LINE"
	return 1
}

# ---- logs ----------------------------------------------------------------------

expect_log() {
	if grep -qE -- "$1" "$MXG_LOG"; then
		ok "log has /$1/"
		return 0
	fi
	fail "mxguard's log has no line matching /$1/"
	return 1
}

expect_no_log() {
	if grep -qE -- "$1" "$MXG_LOG"; then
		fail "mxguard's log has /$1/:"
		grep -E -- "$1" "$MXG_LOG" | head -n 5
		return 1
	fi
	ok "log has no /$1/"
	return 0
}

wait_log() {
	local re=$1 cap=${2:-10}
	if wait_for "$cap" "grep -qE -- '$re' $MXG_LOG"; then
		ok "log has /$re/"
		return 0
	fi
	fail "no line matching /$re/ in mxguard's log after ${cap}s"
	return 1
}

# ---- clients -------------------------------------------------------------------

_show() {
	sed 's/^/    /' "$1" | head -c 8000
}

# swaks_send [swaks options]: one swaks session to mxguard.
swaks_send() {
	local rc
	NSESS=$((NSESS + 1))
	LAST=$T/swaks.$NSESS.out
	swaks --server "127.0.0.1:${MXG_PORT}" --helo client.example.net \
	    --from sender@client.example.net --timeout 30 "$@" >"$LAST" 2>&1
	rc=$?
	echo "  swaks $* (exit $rc)"
	_show "$LAST" | grep -vE '^    (<-|<\*\*|<~) *(2[0-9][0-9]-)' | head -n 60
	return $rc
}

# raw_session STEP ...: smtpraw.py to mxguard (see smtpraw.py).
raw_session() {
	local rc
	NSESS=$((NSESS + 1))
	LAST=$T/raw.$NSESS.out
	"$PY" "$SMTPRAW" -t "${RAW_TIMEOUT:-15}" 127.0.0.1 "${RAW_PORT:-$MXG_PORT}" \
	    "$@" >"$LAST" 2>&1
	rc=$?
	echo "  raw session $NSESS (exit $rc):"
	_show "$LAST"
	return $rc
}

# raw_session_bg STEP ...: the same in the background; raw_wait collects it.
raw_session_bg() {
	NSESS=$((NSESS + 1))
	RAW_OUT=$T/raw.$NSESS.out
	"$PY" "$SMTPRAW" -t "${RAW_TIMEOUT:-15}" 127.0.0.1 "${RAW_PORT:-$MXG_PORT}" \
	    "$@" >"$RAW_OUT" 2>&1 &
	RAW_PID=$!
	PIDS="$PIDS $RAW_PID"
}

raw_wait() {
	local cap=${1:-30} rc
	wait_for "$cap" "! kill -0 $RAW_PID 2>/dev/null" ||
	    fail "the raw client did not finish within ${cap}s"
	kill -KILL "$RAW_PID" 2>/dev/null
	wait "$RAW_PID" 2>/dev/null
	rc=$?
	LAST=$RAW_OUT
	echo "  raw session (background, exit $rc):"
	_show "$LAST"
	return $rc
}

# The reply lines of a transcript (swaks or smtpraw.py), without prefixes.
replies() {
	sed -n -e 's/^<<< //p' -e 's/^<-  //p' -e 's/^<\*\* //p' \
	    -e 's/^<~  //p' -e 's/^<~\* //p' "${1:-$LAST}"
}

expect_reply() {
	if replies "${2:-$LAST}" | grep -qE -- "$1"; then
		ok "reply /$1/"
		return 0
	fi
	fail "no reply matching /$1/ in $(basename "${2:-$LAST}"); replies were:"
	replies "${2:-$LAST}" | sed 's/^/    /'
	return 1
}

expect_no_reply() {
	if replies "${2:-$LAST}" | grep -qE -- "$1"; then
		fail "unexpected reply matching /$1/ in $(basename "${2:-$LAST}"):"
		replies "${2:-$LAST}" | grep -E -- "$1" | sed 's/^/    /'
		return 1
	fi
	ok "no reply /$1/"
	return 0
}

# The reply codes of the last raw session, in order ("220 250 ...").
codes() {
	sed -n 's/^CODES: *//p' "${1:-$LAST}" | tail -n 1
}

expect_codes() {
	local got
	got=$(codes)
	if [ "$got" = "$1" ]; then
		ok "reply codes in order: $got"
		return 0
	fi
	fail "reply codes: expected \"$1\", got \"$got\""
	return 1
}

# ---- files ---------------------------------------------------------------------

# gen_cert: a self-signed certificate for mx.example.test in $T.
gen_cert() {
	command -v openssl >/dev/null 2>&1 || skip "openssl not installed"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	    -subj /CN=mx.example.test >"$T/openssl.log" 2>&1 ||
	    { cat "$T/openssl.log"; fatal "openssl could not make a certificate"; }
	TLS_CERT=$T/cert.pem
	TLS_KEY=$T/key.pem
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# sink_find RE [DIR]: the kept message(s) matching RE.
sink_find() {
	grep -rlaE -- "$1" "${2:-$SINK_DIR}" 2>/dev/null | sort
}

# expect_sink_message ORIGINAL DUMP [N]: the message in DUMP (an smtp-sink
# file) is ORIGINAL byte for byte, apart from CRLF -> LF (the dump's line
# ends) and the N (1) Received: headers on top (mxguard's, and one more
# for a Postfix in between).
expect_sink_message() {
	local orig=$1 dump=$2 nrcvd=${3:-1}
	if [ -z "$dump" ] || [ ! -f "$dump" ]; then
		fail "no kept message to compare with $(basename "$orig")"
		return 1
	fi
	"$PY" "$SINKMSG" lf "$orig" > "$T/want.msg"
	"$PY" "$SINKMSG" content "$dump" "$nrcvd" > "$T/got.msg"
	if cmp -s "$T/want.msg" "$T/got.msg"; then
		ok "$(basename "$orig") arrived byte for byte ($(wc -c < "$T/got.msg") bytes in the dump)"
		return 0
	fi
	fail "$(basename "$orig") differs at the sink ($dump):"
	cmp "$T/want.msg" "$T/got.msg" | head -n 2
	diff -a "$T/want.msg" "$T/got.msg" | head -n 20
	return 1
}

# expect_codes_match RE: the reply codes of the last raw session match RE.
expect_codes_match() {
	local got
	got=$(codes)
	if printf '%s\n' "$got" | grep -qE -- "$1"; then
		ok "reply codes \"$got\" match /$1/"
		return 0
	fi
	fail "reply codes \"$got\" do not match /$1/"
	return 1
}

# start_stallsink STALL_AT: tests/e2e/stallsink.py as the backend; it stops
# answering at STALL_AT (MAIL, RCPT, DATA or ".").
start_stallsink() {
	SINK_DIR=$T/stallsink
	mkdir -p "$SINK_DIR"
	SINK_PORT=$(pick_port) || fatal "no port"
	"$PY" "$E2E_DIR/stallsink.py" "$SINK_PORT" "$1" "$SINK_DIR" \
	    >"$T/stallsink.log" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_for 5 "port_listening $SINK_PORT" ||
	    { cat "$T/stallsink.log"; fatal "stallsink did not start"; }
	BACKEND_PORT=$SINK_PORT
	BACKEND_UP=1
	note "stallsink (silent at $1) on port $SINK_PORT"
}

# wait_mxguard [CAP]: waits (no signal) for mxguard to exit, at most CAP
# (15) seconds; returns its exit status (124: still running).
wait_mxguard() {
	local cap=${1:-15} rc
	[ -n "$MXG_PID" ] || return 0
	if ! wait_for "$cap" "! kill -0 $MXG_PID 2>/dev/null"; then
		fail "mxguard still running after ${cap}s"
		return 124
	fi
	wait "$MXG_PID"
	rc=$?
	MXG_PID=""
	return "$rc"
}
