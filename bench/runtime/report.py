#!/usr/bin/env python3
"""Turns RESULT lines of camure-bench / mpi_bench into a markdown table and a PNG plot."""
import argparse
import collections
import statistics
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
            try:
                rows.append({"impl": kv["impl"], "op": kv["op"], "n": int(kv["n"]), "size": int(kv["size"]),
                             "avg": float(kv["avg_us"]),
                             "period": float(kv["period_us"]) if "period_us" in kv else None})
            except (KeyError, ValueError):
                print(f"report.py: skipping malformed line: {line.strip()}", file=sys.stderr)
    return rows


def human(size):
    if size >= 1 << 20:
        return f"{size >> 20} MiB"
    if size >= 1 << 10:
        return f"{size >> 10} KiB"
    return f"{size} B"


MPIS = ("openmpi", "mpich")


def medians(rows, key="avg"):
    """Median of repeated runs (run.sh --repeat) per (impl, op, n, size)."""
    runs = collections.defaultdict(list)
    for r in rows:
        if r[key] is not None:
            runs[(r["impl"], r["op"], r["n"], r["size"])].append(r[key])
    return {k: statistics.median(v) for k, v in runs.items()}


def implementations(rows):
    """camure, then run.sh --variant names (camure with other settings), then the MPIs."""
    seen = {r["impl"] for r in rows}
    variants = sorted(seen - {"camure", *MPIS})
    return [i for i in ("camure", *variants, *MPIS) if i in seen]


def table(rows):
    data = medians(rows)
    points = sorted({(r["op"], r["size"], r["n"]) for r in rows}, key=lambda p: (p[0] != "barrier", p[0], p[1], p[2]))
    impls = implementations(rows)
    ours = [i for i in impls if i not in MPIS]
    out = ["| op | size | N | " + " | ".join(f"{i} (µs)" for i in impls) + " | " +
           " | ".join(f"{i} / best MPI" for i in ours) + " |",
           "|---|---|---|" + "---|" * (len(impls) + len(ours))]
    for op, size, n in points:
        vals = [data.get((i, op, n, size)) for i in impls]
        cells = [f"{v:.2f}" if v is not None else "—" for v in vals]
        mpi = [v for i, v in zip(impls, vals) if i in MPIS and v is not None]
        ratios = []
        for i in ours:
            v = data.get((i, op, n, size))
            ratios.append(f"{v / min(mpi):.2f}" if v is not None and mpi and min(mpi) > 0 else "—")
        out.append(f"| {op} | {human(size) if op != 'barrier' else '—'} | {n} | " + " | ".join(cells) + " | " +
                   " | ".join(ratios) + " |")
    periods = medians(rows, "period")
    if periods:
        ppoints = sorted({(op, size, n) for (_, op, n, size) in periods}, key=lambda p: (p[1], p[2]))
        out += ["", "Bcast with a barrier between calls, whole iteration (barrier + bcast, µs per iteration):", "",
                "| size | N | " + " | ".join(impls) + " |", "|---|---|" + "---|" * len(impls)]
        for op, size, n in ppoints:
            cells = [f"{periods[(i, op, n, size)]:.2f}" if (i, op, n, size) in periods else "—" for i in impls]
            out.append(f"| {human(size)} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib missing; no plot", file=sys.stderr)
        return
    panels = sorted({(r["op"], r["size"]) for r in rows}, key=lambda p: (p[0] != "barrier", p[0], p[1]))
    cols = 3
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.4 * nrows), squeeze=False)
    series = collections.defaultdict(list)
    for (impl, op, n, size), avg in medians(rows).items():
        series[(op, size, impl)].append((n, avg))
    for ax, (op, size) in zip(axes.flat, panels):
        for impl in implementations(rows):
            pts = sorted(series.get((op, size, impl), []))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl)
        ax.set_title(op if op == "barrier" else f"{op} {human(size)}")
        ax.set_xlabel("ranks")
        ax.set_ylabel("µs (log)")
        ax.set_yscale("log")
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_into(path, section, md):
    """Puts md into path between the markers of section (replacing an earlier table there), or
    appends the marked block if the file has none yet."""
    begin, end = f"<!-- begin {section} -->", f"<!-- end {section} -->"
    block = f"{begin}\n{md}{end}\n"
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end) + 1:]
    else:
        text += ("\n" if text and not text.endswith("\n") else "") + "\n" + block
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results")
    ap.add_argument("--markdown")
    ap.add_argument("--png")
    ap.add_argument("--into", help="also write the table into this file (e.g. BENCHMARKS.md), between markers")
    ap.add_argument("--section", default="bench/runtime/run.sh", help="name of the marked block for --into")
    ap.add_argument("--header", default="", help="text (command, machine) put above the table in --into")
    a = ap.parse_args()
    rows = parse(a.results)
    if not rows:
        print(f"report.py: no RESULT lines in {a.results}", file=sys.stderr)
        return 1
    md = table(rows)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    else:
        sys.stdout.write(md)
    if a.png:
        plot(rows, a.png)
    if a.into:
        write_into(a.into, a.section, (a.header + "\n\n" if a.header else "") + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
