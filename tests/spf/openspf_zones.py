#!/usr/bin/env python3
# openspf_zones.py - one section of the OpenSPF RFC 7208 suite as files:
#
#   openspf_zones.py SUITE.json SECTION OUTDIR BLACKHOLE_PORT
#
# writes OUTDIR/zones/root.zone (the section's zone data as one root zone
# for nsd), OUTDIR/unbound.conf (extra resolver settings: names marked
# TIMEOUT are forwarded to a server that never answers, unbound's built-in
# local zones are made transparent) and OUTDIR/cases.tsv (one scenario a
# line, for tests/spf/spf_suite). Prints the section's description.
#
# Suite conventions (as pyspf's driver implements them): an "SPF" record is
# also served as TXT unless the name has TXT data of its own ("TXT: NONE"
# means: no TXT records at all); "TIMEOUT" makes every query for the name
# time out.
import json
import sys

suite = json.load(open(sys.argv[1]))
sec = suite[int(sys.argv[2])]
out = sys.argv[3]
bh = int(sys.argv[4])


def b(s):
    return s.encode("latin-1")


def owner(name):
    """A zone-file name: every byte outside [A-Za-z0-9-_] as \\DDD."""
    if name.endswith("."):
        name = name[:-1]
    labels = []
    for lab in b(name).split(b"."):
        labels.append("".join(chr(c) if (chr(c).isalnum() and c < 128) or
                              c in b"-_" else "\\%03d" % c for c in lab))
    return ".".join(labels) + "."


def txt(strings):
    parts = []
    for s in strings:
        parts.append('"' + "".join(
            chr(c) if 0x20 <= c < 0x7f and c not in b'"\\' else "\\%03d" % c
            for c in b(s)) + '"')
    return " ".join(parts) if parts else '""'


def esc(s):
    """A cases.tsv field: \\t \\n \\\\ and bytes outside 0x20..0x7e escaped."""
    if s is None:
        return "-"
    r = []
    for c in b(s):
        if c == 0x5c:
            r.append("\\\\")
        elif 0x20 <= c < 0x7f:
            r.append(chr(c))
        else:
            r.append("\\x%02x" % c)
    return "".join(r) if r else "\\e"


# TIMEOUT: every query for the name times out, except for record types
# it has data for (pyspf's driver). A DNS server cannot time out by type:
# a TIMEOUT name with TXT data (the only type whose timing matters there,
# since type SPF is never asked) is served; any other is forwarded to the
# black hole, and names of the zone data below it are forwarded back to
# nsd so that they still answer.
def serves_txt(recs):
    kinds = [k for k, _ in recs]
    if "TXT" in kinds:
        return any(k == "TXT" and v is not None for k, v in recs)
    return any(k == "SPF" and v is not None for k, v in recs)


lines = ["$TTL 300",
         ". SOA ns.suite.invalid. hostmaster.suite.invalid. 1 3600 600 86400 300",
         ". NS ns.suite.invalid."]
timeouts = []
for name, recs in sec["zonedata"]:
    kinds = [k for k, _ in recs]
    if "TIMEOUT" in kinds and not serves_txt(recs):
        timeouts.append(name.rstrip(".").lower())
        continue
    o = owner(name)
    has_txt = "TXT" in kinds
    for k, v in recs:
        if k == "SPF":
            if v is None:
                continue
            lines.append("%s SPF %s" % (o, txt(v)))
            if not has_txt:
                lines.append("%s TXT %s" % (o, txt(v)))
        elif k == "TXT":
            if v is not None:
                lines.append("%s TXT %s" % (o, txt(v)))
        elif k == "MX":
            lines.append("%s MX %d %s" % (o, v[0], owner(v[1])))
        elif k in ("PTR", "CNAME"):
            lines.append("%s %s %s" % (o, k, owner(v)))
        elif k in ("A", "AAAA"):
            lines.append("%s %s %s" % (o, k, v))
        elif k == "TIMEOUT":
            continue        # served: only its TXT data is ever asked
        else:
            sys.exit("unknown record type " + k)

import os
os.makedirs(out + "/zones", exist_ok=True)
with open(out + "/zones/root.zone", "w") as f:
    f.write("\n".join(lines) + "\n")

# unbound answers these itself unless told otherwise (RFC 6761 names,
# private and documentation reverse zones): the suite uses 192.168/16,
# 10/8 and documentation addresses in PTR lookups.
builtin = ["localhost", "127.in-addr.arpa", "test", "invalid", "onion",
           "home.arpa", "local", "10.in-addr.arpa", "168.192.in-addr.arpa",
           "254.169.in-addr.arpa", "0.in-addr.arpa", "2.0.192.in-addr.arpa",
           "100.51.198.in-addr.arpa", "113.0.203.in-addr.arpa",
           "255.255.255.255.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa",
           "d.f.ip6.arpa", "8.e.f.ip6.arpa", "9.e.f.ip6.arpa",
           "a.e.f.ip6.arpa", "b.e.f.ip6.arpa"] + \
    ["%d.172.in-addr.arpa" % i for i in range(16, 32)]
with open(out + "/unbound.conf", "w") as f:
    f.write("server:\n")
    for z in builtin:
        f.write('\tlocal-zone: "%s." transparent\n' % z)
    for t in timeouts:
        f.write('forward-zone:\n\tname: "%s."\n\tforward-addr: 127.0.0.1@%d\n'
                % (t, bh))
    for name, recs in sec["zonedata"]:
        n = name.rstrip(".").lower()
        if n in timeouts:
            continue
        if any(n.endswith("." + t) for t in timeouts):
            f.write('forward-zone:\n\tname: "%s"\n\tforward-addr: '
                    '127.0.0.1@@NSD_PORT@\n' % owner(name))

with open(out + "/cases.tsv", "w") as f:
    for t in sec["tests"]:
        f.write("\t".join([esc(t["name"]), esc(t["host"]), esc(t["helo"]),
                           esc(t["mailfrom"]), ",".join(t["result"]),
                           esc(t["explanation"])]) + "\n")
print(sec["description"])
