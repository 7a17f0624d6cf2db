#!/bin/sh
# dns.sh - builds and runs the libFuzzer targets of the DNS checks (issue 5):
#   fuzz_dnsbl_sites  filters/dnsxl.c (postscreen_dnsbl_sites, reply filters)
#   fuzz_spf_record   filters/spf_macro.c (the record rewrite, macros)
#   fuzz_spf_layer    filters/spf_glue.c + libspf2 with a table-driven DNS
#
#   sh tests/fuzz/dns.sh [SECONDS]     (default 15 each; 0: build only)
#
# Built with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# tests/fuzz/build/dns/; each run starts from tests/fuzz/corpus/<target>/
# (copied to tests/fuzz/corpus-work/, which collects what libFuzzer finds).
# Exit status: non-zero if a build failed or a target found a crash.
# XXX issue5-dns: tests/fuzz/run.sh is being written in main; at merge these
# targets join it and this script can go.
set -eu
secs=${1:-15}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/tests/fuzz/build/dns
mkdir -p "$out"
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -pthread $SAN"
PKGS="libevent libevent_openssl libevent_pthreads libssl libcrypto libunbound"
LIBS="$(pkg-config --libs $PKGS) -lspf2 -lresolv"
INC="$(pkg-config --cflags $PKGS) -I$top/proxy -I$top"

# the code under test, instrumented for coverage (everything but main.c)
objs=""
for f in "$top"/proxy/*.c "$top"/filters/*.c; do
	case $f in */main.c) continue ;; esac
	o=$out/$(basename "$(dirname "$f")")_$(basename "$f" .c).o
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ]; then
		$CC $CFLAGS -fsanitize=fuzzer-no-link $INC -c "$f" -o "$o"
	fi
	objs="$objs $o"
done
rc=0
for t in fuzz_dnsbl_sites fuzz_spf_record fuzz_spf_layer; do
	$CC $CFLAGS -fsanitize=fuzzer $INC "$top/tests/fuzz/$t.c" $objs $LIBS \
	    -o "$out/$t"
	[ "$secs" -gt 0 ] || continue
	work=$top/tests/fuzz/corpus-work/$t
	mkdir -p "$work"
	cp "$top/tests/fuzz/corpus/$t"/* "$work/" 2>/dev/null || true
	echo "### $t for $secs s"
	if (cd "$out" && MALLOC_PERTURB_=165 ./"$t" -max_total_time="$secs" \
	    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    "$work" > "$out/$t.log" 2>&1); then
		tail -n 3 "$out/$t.log"
	else
		grep -A 20 'ERROR\|runtime error' "$out/$t.log" | head -n 30
		echo "### $t FOUND A PROBLEM (log and crash file in $out)"
		rc=1
	fi
done
exit $rc
