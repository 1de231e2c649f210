#!/usr/bin/env python3
"""Per-placement medians of a bench/run.sh raw file.

The VM's two vCPUs move between a close and a far placement (a core-to-core
round trip of about 90-110 ns or about 420-500 ns, bench/probe_c2c), and
multi-party cases follow it. run.sh's table takes the median over all
samples, whichever placement they fell in; this prints goro and Go medians
(sample counts in brackets) and their ratio for each placement apart.

Usage: bench/by_placement.py build/bench-results/<stamp>.raw [THRESHOLD_NS]
A sample counts as far when the round trip probed before its run exceeds
THRESHOLD_NS (default 200).
"""
import collections
import statistics
import sys


def fmt(v):
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    threshold = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    samples = collections.defaultdict(list)
    for line in open(sys.argv[1]):
        f = line.split()
        if len(f) < 7:
            continue
        side, _prog, case, value, _unit, _busy, c2c = f[:7]
        placement = "near" if int(c2c) <= threshold else "far"
        samples[(case, side, placement)].append(float(value))
    print("| case | goro near | Go near | goro/Go near | goro far | Go far | goro/Go far |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in sorted({k[0] for k in samples}):
        row = [case]
        for placement in ("near", "far"):
            g = samples.get((case, "goro", placement))
            o = samples.get((case, "go", placement))
            gm = statistics.median(g) if g else None
            om = statistics.median(o) if o else None
            row.append(f"{fmt(gm)} ({len(g)})" if g else "")
            row.append(f"{fmt(om)} ({len(o)})" if o else "")
            row.append(f"{gm / om:.2f}" if g and o else "")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
