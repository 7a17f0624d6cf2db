# common.sh - what the e2e harnesses (lib.sh, dnslib.sh, rcptlib.sh)
# share: paths, reporting, polling, loopback ports. Each sources it right
# after re-running itself under bash:
#
#	. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#
# The harness sets T, _cleanup and finish itself (each starts different
# programs).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SRCDIR:=$(cd "$E2E_DIR/../.." && pwd)}"
: "${TESTDATA:=$SRCDIR/tests/data}"
: "${MXGUARD:=$SRCDIR/mxguard}"
case $MXGUARD in
/*) ;;
*) MXGUARD=$(cd "$(dirname "$MXGUARD")" && pwd)/$(basename "$MXGUARD") ;;
esac
export SRCDIR TESTDATA MXGUARD
TEST=$(basename "$0" .sh)
PY=${PYTHON:-python3}

FAILED=0
PIDS=""
USED_PORTS=""
LAST=""

note() { printf '# %s\n' "$*"; }

fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL: %s\n' "$*"
}

# A failure after which the test cannot go on.
fatal() {
	fail "$@"
	exit 1
}

skip() {
	printf 'SKIP: %s: %s\n' "$TEST" "$*"
	SKIPPED=1
	exit 77
}

ok() { printf 'ok: %s\n' "$*"; }

# wait_for CAP 'condition': polls the shell condition until it holds; 1 if
# it still does not after CAP seconds.
wait_for() {
	local cap=$1 cond=$2 end
	end=$(($(date +%s%N) / 1000000 + ${cap%.*} * 1000))
	while :; do
		if eval "$cond"; then
			return 0
		fi
		[ "$(($(date +%s%N) / 1000000))" -ge "$end" ] && break
		sleep 0.05
	done
	eval "$cond"
}

# A free loopback port (TCP and UDP: the DNS server takes both) below the
# ephemeral range, not used by this test yet.
pick_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		case " $USED_PORTS " in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htuan "( sport = :$p )" 2>/dev/null)" ]; then
			USED_PORTS="$USED_PORTS $p"
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

port_listening() {
	[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}
