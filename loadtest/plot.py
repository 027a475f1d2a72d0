"""A PNG of latency percentiles over the run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadtest.records import ERROR, OK, THROTTLED, RequestResult
from loadtest.stats import percentiles

WINDOWS = 20  # the run's time split into this many windows (each at least 50 ms)


def latency_plot(results: list[RequestResult], path: Path, title: str) -> Path:
    """Per window of completion time: e2e p50/p95/p99 and TTFT p50 (ms); below, outcomes per window."""
    end = max((r.ended_s for r in results), default=1.0)
    width = max(end / WINDOWS, 0.05)
    buckets: dict[int, list[RequestResult]] = {}
    for result in results:
        buckets.setdefault(int(result.ended_s // width), []).append(result)
    windows = sorted(buckets)
    centres = [(w + 0.5) * width for w in windows]
    figure, (latency, outcomes) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(3, 1))
    series = {"e2e p50": [], "e2e p95": [], "e2e p99": [], "TTFT p50": []}
    for window in windows:
        ok = [r for r in buckets[window] if r.status == OK]
        e2e = percentiles([r.e2e_s for r in ok if r.e2e_s is not None]) or {}
        ttft = percentiles([r.ttft_s for r in ok if r.ttft_s is not None]) or {}
        for point in (50, 95, 99):
            series[f"e2e p{point}"].append(e2e[point] * 1000 if point in e2e else float("nan"))
        series["TTFT p50"].append(ttft[50] * 1000 if 50 in ttft else float("nan"))
    for label, values in series.items():
        latency.plot(centres, values, marker="o", markersize=3, label=label, linestyle="--" if "TTFT" in label else "-")
    latency.set_ylabel("latency (ms)")
    latency.set_title(title)
    latency.grid(alpha=0.3)
    latency.legend(loc="upper left")
    bottom = [0] * len(windows)
    for status, colour in ((OK, "tab:green"), (THROTTLED, "tab:orange"), (ERROR, "tab:red")):
        counts = [sum(1 for r in buckets[w] if r.status == status) for w in windows]
        outcomes.bar(centres, counts, width=width * 0.9, bottom=bottom, color=colour, label=status)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    outcomes.set_ylabel("requests")
    outcomes.set_xlim(0, (max(windows, default=0) + 1) * width)
    outcomes.set_xlabel(f"seconds since start (windows of {width:.2g} s, by completion time)")
    outcomes.legend(loc="upper left", ncols=3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
