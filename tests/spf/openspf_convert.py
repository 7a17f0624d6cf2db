#!/usr/bin/env python3
# openspf_convert.py - converts the OpenSPF RFC 7208 test suite (YAML) into
# the JSON the suite runner reads, once, so `make check` needs no YAML
# parser (PyYAML is not part of a plain Debian python3).
#
#   python3 tests/spf/openspf_convert.py SUITE.yml > tests/data/openspf/rfc7208-tests.json
#
# Strings keep their bytes: YAML "\xEF" escapes become U+00EF and so on,
# and every string here is a sequence of code points < 256 standing for
# bytes (the runner writes them out as latin-1).
import json
import sys

import yaml

out = []
with open(sys.argv[1], "rb") as f:
    for doc in yaml.safe_load_all(f):
        if not doc:
            continue
        tests = []
        for name, t in doc.get("tests", {}).items():
            r = t["result"]
            tests.append({
                "name": name,
                "spec": str(t.get("spec", "")),
                "helo": t.get("helo", ""),
                "host": str(t["host"]),
                "mailfrom": t.get("mailfrom", ""),
                "result": r if isinstance(r, list) else [r],
                "explanation": t.get("explanation"),
            })
        zones = []
        for name, recs in (doc.get("zonedata") or {}).items():
            rl = []
            for rec in recs or []:
                if rec == "TIMEOUT":
                    rl.append(["TIMEOUT", None])
                    continue
                (k, v), = rec.items()
                if k in ("SPF", "TXT"):
                    if v == "NONE":
                        v = None
                    elif isinstance(v, list):
                        v = [str(x) for x in v]
                    else:
                        v = [str(v)]
                elif k == "MX":
                    v = [int(v[0]), str(v[1])]
                else:
                    v = str(v)
                rl.append([k, v])
            zones.append([str(name), rl])
        out.append({"description": doc.get("description", ""),
                    "tests": tests, "zonedata": zones})
json.dump(out, sys.stdout, indent=1, ensure_ascii=True, sort_keys=True)
sys.stdout.write("\n")
