#!/usr/bin/env python3
"""Prints the table of every chaos scenario's figures (the RESULTS_DIR/*.json files that
chaoslib.Results writes), passed or failed, as `make test-chaos` and `make test-chaos-full` end.

Usage: tests/chaos/summary.py [RESULTS_DIR]   (default: $CHAOS_RESULTS_DIR, else build/chaos-results)
Exits 0 when it printed a table, 1 when there was no result to print.
"""
import glob
import json
import os
import sys

COLUMNS = (("scenario", "scenario"), ("outcome", "result"), ("faults_injected", "faults injected"),
           ("kills_survived", "kills survived"), ("orphans", "orphans"),
           ("lost_acked_writes", "lost acked writes"), ("duplicates", "duplicates"),
           ("acked_creates", "acked creates"), ("acked_deletes", "acked deletes"), ("settle_s", "settle s"))


def cell(v):
    return "-" if v is None else str(v)


def load(results_dir):
    docs = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        try:
            with open(path) as f:
                docs.append(json.load(f))
        except (OSError, ValueError) as e:
            docs.append({"scenario": os.path.basename(path), "outcome": "unreadable: %s" % e})
    return docs


def table(docs):
    rows = [[h for _, h in COLUMNS]] + [[cell(d.get(k)) for k, _ in COLUMNS] for d in docs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def details(docs):
    """The faults by kind and the notes, one line per scenario that has any."""
    out = []
    for d in docs:
        faults = ", ".join("%s %d" % (k, v) for k, v in sorted((d.get("faults") or {}).items()))
        extra = "; ".join(filter(None, [faults] + list(d.get("notes") or [])))
        if extra:
            out.append("  %s: %s" % (d.get("scenario"), extra))
    return out


def main(argv):
    results_dir = argv[1] if len(argv) > 1 else (os.environ.get("CHAOS_RESULTS_DIR") or
                                                 os.path.join("build", "chaos-results"))
    docs = load(results_dir)
    print("== chaos results (%s)" % results_dir)
    if not docs:
        print("no results: no chaos scenario ran (or none got as far as writing its figures)")
        return 1
    print("\n".join(table(docs)))
    lines = details(docs)
    if lines:
        print("faults and notes:")
        print("\n".join(lines))
    failed = sum(1 for d in docs if d.get("outcome") != "pass")
    print("%d scenarios, %d passed, %d failed" % (len(docs), len(docs) - failed, failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
