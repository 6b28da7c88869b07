#!/usr/bin/env python3
"""Compare the per-test outcomes of two CPython regrtest runs.

usage: regrtest-outcomes.py NATIVE.xml RECORDED.xml [EXPECTED-DIFFERENCES]

Each XML file is what `python3 -m test --junit-xml FILE` wrote.  A test's
outcome is one of pass, skip, fail, error (from the <testcase> element and
its <skipped>, <failure> or <error> child).  Prints one line per test whose
outcome differs ("DIFF name: native pass, recorded fail"), or that only one
run has, and exits 1 if any of them is not in EXPECTED-DIFFERENCES (a file
of "name native recorded" lines; '#' starts a comment).  An expected
difference that did not happen is reported too (the list stays honest) but
does not fail.
"""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        sys.exit("regrtest-outcomes: %s: %s" % (path, e))
    res = {}
    for tc in root.iter("testcase"):
        name = tc.get("name")
        kinds = {child.tag for child in tc}
        if "error" in kinds:
            o = "error"
        elif "failure" in kinds:
            o = "fail"
        elif "skipped" in kinds:
            o = "skip"
        else:
            o = "pass"
        # a name seen twice (regrtest re-runs): the worst outcome counts
        if name in res and res[name] in ("fail", "error"):
            continue
        res[name] = o
    return res


def expected(path):
    exp = {}
    if not path:
        return exp
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 3:
                sys.exit("regrtest-outcomes: %s: want 'name native recorded': %s"
                         % (path, " ".join(line)))
            exp[line[0]] = (line[1], line[2])
    return exp


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    nat = outcomes(sys.argv[1])
    rec = outcomes(sys.argv[2])
    exp = expected(sys.argv[3] if len(sys.argv) == 4 else None)
    if not nat:
        sys.exit("regrtest-outcomes: %s: no test case" % sys.argv[1])
    bad = 0
    for name in sorted(set(nat) | set(rec)):
        n, r = nat.get(name, "absent"), rec.get(name, "absent")
        if n == r:
            continue
        if exp.get(name) == (n, r):
            print("expected DIFF %s: native %s, recorded %s" % (name, n, r))
            continue
        print("DIFF %s: native %s, recorded %s" % (name, n, r))
        bad += 1
    for name, (n, r) in sorted(exp.items()):
        if name in nat and (nat.get(name), rec.get(name, "absent")) != (n, r):
            print("note: expected difference did not happen: %s (native %s, "
                  "recorded %s)" % (name, nat.get(name), rec.get(name, "absent")))
    counts = {}
    for o in rec.values():
        counts[o] = counts.get(o, 0) + 1
    print("%d tests: %s; %d unexpected difference(s)"
          % (len(nat), ", ".join("%s %d" % kv for kv in sorted(counts.items())),
             bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
