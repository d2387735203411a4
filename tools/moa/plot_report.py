"""Plots of `moa bench --report`: python3 plot_report.py REPORT.json OUT_DIR.

Writes three PNGs into OUT_DIR:
  gflops_vs_n.png          GFLOP/s against n per dtype, fused and naive, with the measured peak
                           of each thread count as a dashed line;
  predicted_vs_measured.png  measured median against the cost model's prediction, log-log, with
                           the y = x line and the +-25% band the model is held to;
  memory.png               peak resident memory against n, fused and unfused, beside the size of
                           q, k, v and o (each point run alone in its own process).
Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

DTYPES = ["float32", "float64", "bfloat16"]


def impls(records):
    """(impl, marker) for each implementation present: fused, naive, then any peer."""
    names = sorted({r["impl"] for r in records}, key=lambda i: (i != "fused", i != "naive", i))
    return [(i, {"fused": "o", "naive": "s"}.get(i, "^")) for i in names]


def series(records, **match):
    rows = [r for r in records if all(r[k] == v for k, v in match.items())]
    return sorted(rows, key=lambda r: r["n"])


def gflops_vs_n(records, path):
    dtypes = [t for t in DTYPES if any(r["dtype"] == t for r in records)]
    fig, axes = plt.subplots(1, len(dtypes), figsize=(5.5 * len(dtypes), 4.2), squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        rows = [r for r in records if r["dtype"] == dtype]
        for threads in sorted({r["threads"] for r in rows}):
            peak = max(r["peak_gflops"] for r in rows if r["threads"] == threads)
            ax.axhline(peak, ls="--", lw=1, color="grey")
            ax.text(min(r["n"] for r in rows), peak, f" peak, {threads} thr", va="bottom",
                    fontsize=7, color="grey")
            for d in sorted({r["d"] for r in rows}):
                for impl, marker in impls(rows):
                    s = series(rows, threads=threads, d=d, impl=impl)
                    if s:
                        ax.plot([r["n"] for r in s], [r["gflops"] for r in s], marker=marker,
                                label=f"{impl} d={d} {threads} thr")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n (= nq = nk)")
        ax.set_ylabel("GFLOP/s (4 n^2 d per head)")
        ax.set_title(dtype)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def predicted_vs_measured(records, path):
    fig, ax = plt.subplots(figsize=(5.5, 5.2))
    lo = min(min(r["median_s"], r["predicted_s"]) for r in records)
    hi = max(max(r["median_s"], r["predicted_s"]) for r in records)
    xs = [lo / 2, hi * 2]
    ax.plot(xs, xs, color="black", lw=1, label="measured = predicted")
    ax.fill_between(xs, [x * 0.75 for x in xs], [x * 1.25 for x in xs], color="grey",
                    alpha=0.2, label="+-25%")
    for dtype in DTYPES:
        for impl, marker in impls(records):
            s = series(records, dtype=dtype, impl=impl)
            if s:
                ax.scatter([r["predicted_s"] for r in s], [r["median_s"] for r in s],
                           marker=marker, label=f"{impl} {dtype}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted s (fused: model + measured tile cost; unfused: roofline)")
    ax.set_ylabel("measured median s")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def memory(records, path):
    rows = [r for r in records if r.get("peak_rss_mib", 0) > 0]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for dtype in DTYPES:
        for d in sorted({r["d"] for r in rows if r["dtype"] == dtype}):
            for impl, marker in impls(rows):
                s = series(rows, dtype=dtype, d=d, impl=impl)
                if s:
                    ax.plot([r["n"] for r in s], [r["peak_rss_mib"] for r in s], marker=marker,
                            label=f"{impl} {dtype} d={d}")
            s = series(rows, dtype=dtype, d=d, impl="fused")
            if s:
                ax.plot([r["n"] for r in s], [r["inputs_mib"] for r in s], ls=":", color="grey")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (= nq = nk)")
    ax.set_ylabel("peak resident MiB (dotted: q, k, v, o)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_report.py REPORT.json OUT_DIR")
    with open(sys.argv[1]) as f:
        records = json.load(f)
    if not records:
        sys.exit("plot_report.py: no records in " + sys.argv[1])
    out = sys.argv[2]
    written = []
    for name, plot in (("gflops_vs_n.png", gflops_vs_n),
                       ("predicted_vs_measured.png", predicted_vs_measured),
                       ("memory.png", memory)):
        if plot(records, os.path.join(out, name)) is not False:
            written.append(os.path.join(out, name))
    print("plot_report.py: wrote " + ", ".join(written), file=sys.stderr)


if __name__ == "__main__":
    main()
