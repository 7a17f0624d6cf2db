#!/bin/sh
# run-all.sh [TEST ...] - run end-to-end tests by hand (default: every test
# of tests.mk), one after the other, and print a summary. Environment as
# for one test: MXGUARD, SRCDIR (default: this checkout, ./mxguard).
here=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${MXGUARD:=$SRCDIR/mxguard}"
export SRCDIR MXGUARD
[ $# -gt 0 ] || set -- $(sed -n 's|^[[:space:]]*tests/e2e/\(t_[a-z0-9_]*\.sh\).*|\1|p' "$here/tests.mk")
logdir=${E2E_LOGDIR:-$(mktemp -d /tmp/mxg-e2e-logs.XXXXXX)}
mkdir -p "$logdir"
pass= fail= skip=
for t in "$@"; do
	t=$(basename "$t")
	start=$(date +%s)
	bash "$here/$t" > "$logdir/${t%.sh}.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)  pass="$pass ${t%.sh}"; echo "PASS: ${t%.sh} (${secs}s)" ;;
	77) skip="$skip ${t%.sh}"; echo "SKIP: ${t%.sh}" ;;
	*)  fail="$fail ${t%.sh}"; echo "FAIL: ${t%.sh} (${secs}s)"
	    grep '^FAIL: ' "$logdir/${t%.sh}.log" | sed 's/^/    /' ;;
	esac
done
echo "logs in $logdir"
echo "passed:$pass"
[ -z "$skip" ] || echo "skipped:$skip"
[ -z "$fail" ] && exit 0
echo "failed:$fail"
exit 1
