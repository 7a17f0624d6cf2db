# rcptlib.sh - the harness of the recipient-validation and backup-MX tests
# (tests/e2e/t_rcpt_*.sh). Self-contained, in the style of lib.sh, so the
# two can be merged later. Each test sources it:
#
#	. "$(dirname "$0")/rcptlib.sh"
#
# From `make check` the environment has MXGUARD and SRCDIR; by hand:
# MXGUARD=./mxguard sh tests/e2e/t_rcpt_x.sh (E2E_KEEP=1 keeps the
# test's directory). Needs root (Postfix), postfix, redis-server, python3.
#
# A test gets a private directory ($T), free loopback ports, and a trap
# that stops everything it started. Programs:
#   start_primary                 a real Postfix as the primary MX: known
#                                 users alice@ bob@ carol@ in example.test
#                                 and other.test, catchall.test catch-all,
#                                 anyone else 550 5.1.1; PRIMARY_PORT/_DIR
#   stop_primary / restart_primary
#   start_backup ["key = value" ...]  a real Postfix as the backup MX behind
#                                 mxguard, relaying the three domains to
#                                 the primary; BACKUP_PORT, BACKUP_DIR
#   start_sink                    smtp-sink as the backend (BACKUP_PORT)
#   start_fake_primary [--delay MS]  tests/e2e/fake_primary.py as the
#                                 primary, counting connections (max
#                                 concurrent) and RCPTs; fake_stat KEY
#   start_redis / stop_redis      redis-server on a free port (the same
#                                 one again after a stop); REDIS_PORT
#   start_mxguard NAME CONF       mxguard NAME with config file CONF (its
#                                 listen line is set here); MXG_PORT_NAME,
#                                 MXG_LOG_NAME, MXG_PID_NAME; also sets
#                                 MXG_PORT/MXG_LOG/MXG_PID for the last one
#   mxg_conf NAME [key = value lines on stdin]  writes $T/NAME.conf with
#                                 the common top lines (ports filled in)
# Clients: smtp_session NAME [rcpt_smtp.py session options] (sets LAST)
# Assertions (print, count, go on; `fatal` stops):
#   expect_rcpt ADDR CODE_RE      the reply to RCPT <ADDR> in LAST
#   expect_last RE / expect_no_last RE
#   expect_log NAME RE / expect_no_log NAME RE / wait_log NAME RE [CAP]
#   counter NAME COUNTER          value from a fresh SIGUSR1 "stats" line
#   expect_counter NAME COUNTER OP VALUE
#   backup_queue                  messages in the backup's queue
#   expect_no_bounce              no bounce in the backup's queue or log
#   wait_for CAP 'shell condition'  poll, never a fixed sleep
# finish ends the test: PASS (exit 0) or FAIL (exit 1); 77 = skip.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CLIENT="$E2E_DIR/rcpt_smtp.py"
. "$SRCDIR/tests/lib/postfix.sh"

PF_DIRS=""
MXG_NAMES=""

_cleanup() {
	local rc=$? p i n pid
	trap - EXIT INT TERM
	set +e
	for n in $MXG_NAMES; do
		eval "pid=\${MXG_PID_$n:-}"
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for n in $MXG_NAMES; do
		eval "pid=\${MXG_PID_$n:-}"
		[ -n "$pid" ] || continue
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for i in $(seq 1 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in $PF_DIRS; do
		pf_stop "$p"
		_pf_forget "$p"
	done
	# a sanitizer build reports at exit, into the log
	for n in $MXG_NAMES; do
		eval "p=\${MXG_LOG_$n:-}"
		if [ -f "$p" ] && grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$p"; then
			fail "mxguard $n: sanitizer report in $p:"
			grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$p" | head -40
		fi
	done
	if [ "${SKIPPED:-0}" = 1 ]; then
		rc=77
	elif [ "$FAILED" -gt 0 ]; then
		for n in $MXG_NAMES; do
			eval "p=\${MXG_LOG_$n:-}"
			[ -f "$p" ] || continue
			echo "---- last lines of mxguard $n's log ($p)"
			tail -n 30 "$p"
		done
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

finish() { exit 0; }

[ "$(id -u)" = 0 ] || { echo "SKIP: $TEST: needs root (Postfix)"; exit 77; }
for _tool in "$PY" postfix postconf redis-server ss; do
	command -v "$_tool" >/dev/null 2>&1 || {
		echo "SKIP: $TEST: $_tool not installed"; exit 77; }
done
[ -x "$MXGUARD" ] || { echo "FAIL: no mxguard binary at $MXGUARD"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mxg-e2e.$TEST.XXXXXX") || exit 99
chmod 755 "$T"
trap _cleanup EXIT
trap 'exit 130' INT TERM

# Postfix's alternate_config_directories grows with each instance: take
# ours out again (others' tests may run at the same time: lock).
_pf_forget() {
	local dir=$1 cur new
	(
		flock 9
		cur=$(postconf -h alternate_config_directories 2>/dev/null)
		new=$(printf '%s\n' $cur | grep -vxF "$dir/etc" | tr '\n' ' ')
		postconf -e "alternate_config_directories = $new"
	) 9>/tmp/mxguard-e2e-postfix.lock
}

_pf_create_locked() {
	(
		flock 9
		pf_create "$@"
	) 9>/tmp/mxguard-e2e-postfix.lock
}

# pf_start with one retry: a start that fails while other tests' Postfix
# instances come and go is retried once, after showing why it failed.
_pf_start_retry() {
	pf_start "$1" && return 0
	note "Postfix in $1 did not start; its directory:"
	ls -la "$1" 2>&1 | sed 's/^/#   /'
	sleep 1
	pf_start "$1"
}

# ---- the primary MX (a real Postfix) --------------------------------------------

PRIMARY_USERS="alice bob carol"
start_primary() {
	local u
	PRIMARY_DIR=$T/primary
	PRIMARY_PORT=$(pick_port) || fatal "no port"
	mkdir -p "$PRIMARY_DIR"
	: > "$T/vmailbox"
	for u in $PRIMARY_USERS; do
		printf '%s@example.test\t%s/\n%s@other.test\t%s/\n' "$u" "$u" \
		    "$u" "$u" >> "$T/vmailbox"
	done
	printf '@catchall.test\tcatchall/\n' >> "$T/vmailbox"
	_pf_create_locked "$PRIMARY_DIR" "$PRIMARY_PORT" \
	    "virtual_mailbox_domains = example.test catchall.test other.test" \
	    "virtual_mailbox_maps = texthash:$T/vmailbox" \
	    "virtual_transport = discard" \
	    "smtpd_reject_unlisted_recipient = yes" \
	    "recipient_delimiter = +" \
	    "myhostname = primary.example.test" ||
	    fatal "cannot create the primary Postfix"
	PF_DIRS="$PF_DIRS $PRIMARY_DIR"
	_pf_start_retry "$PRIMARY_DIR" || fatal "cannot start the primary Postfix"
}

stop_primary() {
	pf_stop "$PRIMARY_DIR"
	wait_for 10 "! port_listening $PRIMARY_PORT" ||
	    fail "the primary still listens on $PRIMARY_PORT"
}

restart_primary() {
	_pf_start_retry "$PRIMARY_DIR" || fatal "cannot restart the primary Postfix"
}

# ---- the backup MX behind mxguard (a real Postfix) -------------------------------

start_backup() {
	BACKUP_DIR=$T/backup
	BACKUP_PORT=$(pick_port) || fatal "no port"
	mkdir -p "$BACKUP_DIR"
	printf '%s smtp:[127.0.0.1]:%s\n' example.test "$PRIMARY_PORT" \
	    catchall.test "$PRIMARY_PORT" other.test "$PRIMARY_PORT" \
	    > "$T/transport"
	_pf_create_locked "$BACKUP_DIR" "$BACKUP_PORT" \
	    "relay_domains = example.test catchall.test other.test" \
	    "transport_maps = texthash:$T/transport" \
	    "myhostname = backup.example.test" \
	    "smtp_connect_timeout = 2s" \
	    "minimal_backoff_time = 1s" "maximal_backoff_time = 2s" \
	    "queue_run_delay = 1s" "$@" ||
	    fatal "cannot create the backup Postfix"
	PF_DIRS="$PF_DIRS $BACKUP_DIR"
	_pf_start_retry "$BACKUP_DIR" || fatal "cannot start the backup Postfix"
}

backup_queue() {
	pf_queue_count "$BACKUP_DIR"
}

backup_flush() {
	postqueue -c "$BACKUP_DIR/etc" -f >/dev/null 2>&1
}

# Backscatter is what we prevent: no bounce anywhere at the backup.
expect_no_bounce() {
	local log
	log=$(pf_log "$BACKUP_DIR")
	if [ -f "$log" ] && grep -E 'status=bounced|sender non-delivery notification' "$log" >/dev/null; then
		fail "the backup produced a bounce:"
		grep -E 'status=bounced|sender non-delivery notification' "$log" | head -5
	else
		ok "no bounce at the backup"
	fi
}

# ---- an instrumented fake primary (counts what reaches it) -------------------------

# start_fake_primary [--delay MS]: PRIMARY_PORT; fake_stat KEY reads it.
start_fake_primary() {
	PRIMARY_PORT=$(pick_port) || fatal "no port"
	FAKE_STATS=$T/fake_primary.stats
	"$PY" "$E2E_DIR/fake_primary.py" "$PRIMARY_PORT" "$FAKE_STATS" "$@" \
	    > "$T/fake_primary.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 "port_listening $PRIMARY_PORT" ||
	    fatal "the fake primary did not open port $PRIMARY_PORT"
}

fake_stat() {
	tr ' ' '\n' < "$FAKE_STATS" | sed -n "s/^$1=//p"
}

# ---- smtp-sink (a stand-in backup where Postfix is not the point) --------------------

start_sink() {
	SINK_PORT=$(pick_port) || fatal "no port"
	smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 1000 > "$T/sink.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 "port_listening $SINK_PORT" ||
	    fatal "smtp-sink did not open port $SINK_PORT"
	BACKUP_PORT=$SINK_PORT
}

# ---- redis -------------------------------------------------------------------------

start_redis() {
	[ -n "${REDIS_PORT:-}" ] || REDIS_PORT=$(pick_port) || fatal "no port"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no --dir "$T" \
	    > "$T/redis.log" 2>&1 &
	PIDS="$PIDS $!"
	REDIS_PID=$!
	wait_for 10 "port_listening $REDIS_PORT" ||
	    fatal "redis-server did not open port $REDIS_PORT"
}

stop_redis() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	wait_for 10 "! port_listening $REDIS_PORT"
}

# ---- mxguard ------------------------------------------------------------------------

# mxg_conf NAME: $T/NAME.conf from the common top and stdin.
mxg_conf() {
	local name=$1 port
	port=$(pick_port) || fatal "no port"
	eval "MXG_PORT_$name=$port"
	{
		printf '%s\n' "hostname = mx2.example.test" \
		    "listen = 127.0.0.1:$port" \
		    "relay_domains = example.test, catchall.test, other.test" \
		    "backend = 127.0.0.1:${BACKUP_PORT:-1}" \
		    "backend_probe_interval = 1s"
		cat
	} > "$T/$name.conf"
}

start_mxguard() {
	local name=$1 conf=$2 port log pid
	eval "port=\$MXG_PORT_$name"
	log=$T/$name.log
	"$MXGUARD" -t -c "$conf" > "$T/$name.check" 2>&1 || {
		cat "$T/$name.check"; fatal "mxguard $name: configuration refused"; }
	"$MXGUARD" -c "$conf" >> "$log" 2>&1 &
	pid=$!
	eval "MXG_PID_$name=$pid MXG_LOG_$name=$log"
	MXG_NAMES="$MXG_NAMES $name"
	MXG_PORT=$port MXG_LOG=$log MXG_PID=$pid
	wait_for 15 "grep -q 'mxguard ready' '$log'" || {
		tail -20 "$log"; fatal "mxguard $name did not start"; }
}

stop_mxguard() {
	local name=$1 pid i
	eval "pid=\$MXG_PID_$name"
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
}

# smtp_session NAME [options]: one session to mxguard NAME.
smtp_session() {
	local name=$1 port
	shift
	eval "port=\$MXG_PORT_$name"
	LAST=$("$PY" "$CLIENT" session "$port" "$@" 2>&1)
	printf '%s\n' "$LAST" | sed 's/^/  > /'
}

expect_rcpt() {
	local addr=$1 re=$2 line
	line=$(printf '%s\n' "$LAST" | grep -F "RCPT <$addr> " | head -n 1)
	if printf '%s\n' "$line" | grep -Eq "^RCPT <[^>]*> $re"; then
		ok "RCPT <$addr>: ${line#RCPT <$addr> }"
	else
		fail "RCPT <$addr>: want /$re/, got \"${line#RCPT <$addr> }\""
	fi
}

expect_last() {
	if printf '%s\n' "$LAST" | grep -Eq "$1"; then
		ok "reply /$1/"
	else
		fail "no reply matching /$1/"
	fi
}

expect_no_last() {
	if printf '%s\n' "$LAST" | grep -Eq "$1"; then
		fail "unexpected reply matching /$1/"
	else
		ok "no reply /$1/"
	fi
}

_log_of() { eval "printf '%s' \"\$MXG_LOG_$1\""; }

expect_log() {
	if grep -Eq "$2" "$(_log_of "$1")"; then
		ok "log $1: /$2/"
	else
		fail "log $1: nothing matches /$2/"
	fi
}

expect_no_log() {
	if grep -Eq "$2" "$(_log_of "$1")"; then
		fail "log $1: unexpected /$2/:"
		grep -E "$2" "$(_log_of "$1")" | head -3
	else
		ok "log $1: no /$2/"
	fi
}

wait_log() {
	local cond
	cond="grep -Eq $(printf '%q' "$2") $(printf '%q' "$(_log_of "$1")")"
	if wait_for "${3:-10}" "$cond"; then
		ok "log $1: /$2/"
	else
		fail "log $1: /$2/ did not appear within ${3:-10}s"
	fi
}

# counter NAME COUNTER: from a stats line logged on SIGUSR1 (0 if absent).
counter() {
	local name=$1 c=$2 log pid before
	log=$(_log_of "$name")
	eval "pid=\$MXG_PID_$name"
	before=$(grep -c ' stats ' "$log")
	kill -USR1 "$pid"
	wait_for 5 "[ \$(grep -c ' stats ' '$log') -gt $before ]" || {
		echo 0; return; }
	grep ' stats ' "$log" | tail -n 1 | tr ' ' '\n' |
	    sed -n "s/^$c=//p" | head -n 1 | grep . || echo 0
}

expect_counter() {
	local name=$1 c=$2 op=$3 want=$4 got
	got=$(counter "$name" "$c")
	if [ "$got" "$op" "$want" ]; then
		ok "$name: $c=$got ($op $want)"
	else
		fail "$name: $c=$got, want $op $want"
	fi
}
