#!/bin/bash
# t_spf_openspf: the OpenSPF RFC 7208 test suite (203 scenarios, 16
# sections) through mxguard's resolver and SPF glue, against a real DNS
# server: each section's zone data is served by nsd, names marked TIMEOUT
# go to a server that never answers. Every failure must be listed, with
# its reason, in tests/spf/openspf_known_failures.txt, and every listed
# one must still fail (so the list stays true).
. "$(dirname "$0")/dnslib.sh"

SUITE=$TESTDATA/openspf/rfc7208-tests.json
DRIVER=$(dirname "$MXGUARD")/tests/spf/spf_suite
KNOWN=$SRCDIR/tests/spf/openspf_known_failures.txt
[ -x "$DRIVER" ] || fatal "no driver at $DRIVER (make check builds it)"
[ -f "$SUITE" ] || fatal "no suite at $SUITE"

start_blackhole
nsec=$("$PY" -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$SUITE")
: > "$T/results"
for s in $(seq 0 $((nsec - 1))); do
	d=$T/s$s
	desc=$("$PY" "$E2E_DIR/../spf/openspf_zones.py" "$SUITE" "$s" "$d" \
	    "$BLACKHOLE_PORT") || fatal "section $s: cannot write its zones"
	start_dns "$d/zones"
	sed -i "s/@NSD_PORT@/$DNS_PORT/" "$d/unbound.conf"
	"$DRIVER" -s "127.0.0.1@$DNS_PORT" -c "$d/unbound.conf" \
	    -f "$d/cases.tsv" -t 700 ${OPENSPF_RAW:+-r} > "$d/out" 2>&1 ||
	    fatal "section $s ($desc): the driver failed: $(tail -n 5 "$d/out")"
	stop_dns
	note "section $s ($desc): $(tail -n 1 "$d/out" | sed 's/^# //')"
	grep -E '^(PASS|FAIL) ' "$d/out" >> "$T/results"
done

total=$(grep -c '' "$T/results")
passed=$(grep -c '^PASS ' "$T/results")
note "openspf rfc7208: $passed passed of $total"
[ "$total" -eq 203 ] || fail "ran $total scenarios, the suite has 203"
grep '^FAIL ' "$T/results" | while read -r _ name rest; do
	if grep -q "^$name[[:space:]]" "$KNOWN"; then
		note "known failure $name: $rest"
	else
		echo "FAIL: $name $rest (not in $(basename "$KNOWN"))"
		echo x >> "$T/unexpected"
	fi
done
[ -f "$T/unexpected" ] && fail "$(grep -c x "$T/unexpected") unexpected failure(s)"
grep -v '^#' "$KNOWN" | awk 'NF { print $1 }' | while read -r name; do
	if grep -q "^PASS $name " "$T/results"; then
		echo "FAIL: $name passes now: remove it from $(basename "$KNOWN")"
		echo x >> "$T/stale"
	fi
done
[ -f "$T/stale" ] && fail "the known-failure list is out of date"
[ -n "${OPENSPF_RESULTS:-}" ] && cp "$T/results" "$OPENSPF_RESULTS"
finish
