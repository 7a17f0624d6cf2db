#!/bin/bash
# test-all.sh - install what is needed, build, and run every test:
#   1. gcc build with -Werror, `make check` (unit + end-to-end tests)
#   2. the same tests built with clang under AddressSanitizer +
#      UndefinedBehaviorSanitizer (leak detection on; any report fails)
#   3. each libFuzzer target for a short time (FUZZ_SECONDS, default 15),
#      after replaying the kept regression inputs
#   4. make distcheck (the tarball builds and its unit tests pass)
# The last line is "N passed, N failed" over all of them.
# Usage: bash scripts/test-all.sh     (SKIP_DEPS=1 skips apt-get;
#        PHASES="check asan fuzz distcheck" picks phases)
set -u
cd "$(dirname "$0")/.."
top=$PWD
[ -n "${SKIP_DEPS:-}" ] || sh scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
PHASES=${PHASES:-check asan fuzz distcheck}
JOBS=$(nproc)
passed=0
failed=0
report=""

note() { report="$report$1
"; echo "### $1"; }

# Adds the counts of an automake test-suite.log.
count_suite() {
	local log=$1 name=$2 p f
	if [ ! -f "$log" ]; then
		failed=$((failed + 1)); note "$name: no test-suite.log"; return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
	f=0
	for k in FAIL XPASS ERROR; do
		f=$((f + $(sed -n "s/^# $k: *//p" "$log" | head -1)))
	done
	s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
	passed=$((passed + ${p:-0})); failed=$((failed + f))
	note "$name: ${p:-0} passed, $f failed, ${s:-0} skipped"
	if [ "$f" -gt 0 ]; then
		grep -E '^(FAIL|ERROR|XPASS):' "$log" | sed 's/^/    /'
	fi
}

build() {	# build DIR configure-args...
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
	    "$top/configure" -q "$@" && make -j"$JOBS" >/dev/null
}

[ -x ./configure ] || autoreconf -fi >/dev/null 2>&1
# The tree must not be configured in place for VPATH builds.
[ -f Makefile ] && make distclean >/dev/null 2>&1

for phase in $PHASES; do
	cd "$top"
	case $phase in
	check)
		if build build-ci --enable-werror; then
			make -j"$JOBS" check >/dev/null 2>&1
			count_suite "$top/build-ci/test-suite.log" "gcc -Werror: make check"
		else
			failed=$((failed + 1)); note "gcc -Werror build failed"
		fi ;;
	asan)
		san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
		if build build-asan --enable-werror CC=clang \
		    CFLAGS="-O1 -g $san" LDFLAGS="$san"; then
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			MXGUARD_SANITIZED=1 make -j"$JOBS" check >/dev/null 2>&1
			count_suite "$top/build-asan/test-suite.log" "clang ASan+UBSan: make check"
		else
			failed=$((failed + 1)); note "clang sanitizer build failed"
		fi ;;
	fuzz)
		if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
			out=$(bash tests/fuzz/run.sh "${FUZZ_SECONDS:-15}" 2>&1)
			echo "$out" | tail -20
			p=$(echo "$out" | grep -c '^fuzz_[a-z0-9_]*: ok')
			f=$(echo "$out" | grep -c '^fuzz_[a-z0-9_]*: .*FAILED')
			passed=$((passed + p)); failed=$((failed + f))
			note "fuzzing: $p passed, $f failed"
		fi ;;
	distcheck)
		if build build-dist && make distcheck >distcheck.log 2>&1; then
			passed=$((passed + 1)); note "make distcheck: passed"
		else
			failed=$((failed + 1)); note "make distcheck: failed"
			tail -30 "$top/build-dist/distcheck.log"
		fi ;;
	esac
done
cd "$top"
echo
printf '%s' "$report"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
