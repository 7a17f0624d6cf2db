#!/bin/sh
# run.sh [seconds-per-target] - build and run every libFuzzer target.
#
# Each tests/fuzz/fuzz_<name>.c is built with clang (libFuzzer, ASan,
# UBSan, no recovery) against every proxy/ and filters/ object (instrumented
# once, build/lib/), into tests/fuzz/build/. Then, per target:
#   1. every file in tests/fuzz/regressions/<target>/ is replayed once;
#   2. the target runs for the given seconds (default 20) on a work copy
#      of its seeds, tests/fuzz/corpus-work/<target>/ (not committed; it
#      grows from run to run), so the seeds in tests/fuzz/corpus/ stay small;
#   3. a crash, leak or timeout is copied to tests/fuzz/regressions/<target>/
#      (commit it with the fix: step 1 then replays it forever).
# One line per target; the exit status is non-zero if any target failed.
# Environment: CC (default clang), FUZZ_JOBS is not used: one target at a time.
set -u

secs=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=${CC:-clang}
build=$here/build
work=$here/corpus-work
regr=$here/regressions
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
-fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter \
-I$top/proxy"
targets="fuzz_smtp_cmd fuzz_smtp_reply fuzz_data fuzz_config fuzz_table \
fuzz_proxy_proto fuzz_rcptcache fuzz_rcptmap"
full_targets="fuzz_dnsbl_sites fuzz_spf_record fuzz_spf_layer"
pkgs="libevent libevent_openssl libevent_pthreads libssl libcrypto \
libunbound lmdb hiredis"

# Every target links the whole library (config.c reaches the resolver and
# the store), built once with coverage into build/lib/.
build_full_objs() {
	[ -n "${full_objs:-}" ] && return 0
	mkdir -p "$build/lib"
	full_objs=""
	for f in "$top"/proxy/*.c "$top"/filters/*.c; do
		case $f in */main.c) continue ;; esac
		o=$build/lib/$(basename "$(dirname "$f")")_$(basename "$f" .c).o
		if [ ! -f "$o" ] || [ "$f" -nt "$o" ]; then
			# shellcheck disable=SC2046
			$cc $(echo "$cflags" | sed 's/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,/') \
			    $(pkg-config --cflags $pkgs) -I"$top" -c "$f" -o "$o" ||
			    return 1
		fi
		full_objs="$full_objs $o"
	done
}

case $secs in
''|*[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;;
esac
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "$0: $cc not found (Debian: clang, libclang-rt-dev)" >&2
	exit 2
fi
mkdir -p "$build" "$work"
failed=0

for t in $targets $full_targets; do
	log=$build/$t.log
	: >"$log"
	# shellcheck disable=SC2046,SC2086
	build_full_objs >>"$log" 2>&1 &&
	    $cc $cflags $(pkg-config --cflags $pkgs) -I"$top" \
	    -o "$build/$t" "$here/$t.c" $full_objs \
	    $(pkg-config --libs $pkgs) -lspf2 -lresolv -pthread \
	    >>"$log" 2>&1
	if [ $? -ne 0 ]; then
		echo "$t: BUILD FAILED (see $log)"
		failed=1
		continue
	fi

	# 1. replay the regressions
	if [ -d "$regr/$t" ] && [ -n "$(ls -A "$regr/$t" 2>/dev/null)" ]; then
		if ! "$build/$t" -runs=1 "$regr/$t"/* >>"$log" 2>&1; then
			echo "$t: REGRESSION FAILED (see $log)"
			failed=1
			continue
		fi
		nreg=$(ls "$regr/$t" | wc -l)
	else
		nreg=0
	fi

	# 2. fuzz on a work copy of the seeds
	mkdir -p "$work/$t" "$build/artifacts/$t"
	if [ -d "$here/corpus/$t" ]; then
		cp -n "$here/corpus/$t"/* "$work/$t"/ 2>/dev/null
	fi
	rm -f "$build/artifacts/$t"/*
	"$build/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=8192 -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$t/" "$work/$t" >>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	ncorp=$(ls "$work/$t" | wc -l)

	# 3. keep what crashed
	found=$(ls "$build/artifacts/$t" 2>/dev/null)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		mkdir -p "$regr/$t"
		for a in $found; do
			cp "$build/artifacts/$t/$a" "$regr/$t/$a"
		done
		echo "$t: FAILED rc=$rc after ${execs:-?} execs; kept:" \
		    "${found:-nothing} in tests/fuzz/regressions/$t (log: $log)"
		failed=1
		continue
	fi
	echo "$t: ok, ${execs:-?} execs in ${secs}s, cov ${cov:-?}," \
	    "corpus $ncorp, regressions replayed $nreg"
done
exit $failed
