"""What the person running the test sees: a live progress bar and the results table (rich)."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loadtest.costs import Costs, Fleet
from loadtest.records import ERROR, THROTTLED, RequestResult
from loadtest.stats import Summary


class LiveProgress:
    """Two bars: requests against the cap, seconds against the run's duration; plus live counts."""

    def __init__(self, console: Console, max_requests: int, total_seconds: float) -> None:
        self.console, self.total_seconds = console, total_seconds
        self.progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.requests = self.progress.add_task("requests", total=max_requests, detail="")
        self.clock = self.progress.add_task("seconds", total=int(total_seconds), detail="")
        self.counts = {"ok": 0, THROTTLED: 0, ERROR: 0}
        self.stage = ""
        self._lock, self._done = threading.Lock(), threading.Event()
        self._started = time.monotonic()

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        threading.Thread(target=self._tick, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self.progress.stop()

    def _tick(self) -> None:
        while not self._done.wait(0.5):
            elapsed = min(time.monotonic() - self._started, self.total_seconds)
            self.progress.update(self.clock, completed=int(elapsed), detail=self.stage)

    def stage_started(self, stage: int, concurrency: int) -> None:
        self.stage = f"stage {stage + 1}, concurrency {concurrency}"

    def result(self, result: RequestResult) -> None:
        with self._lock:
            self.counts[result.status] += 1
            detail = f"ok {self.counts['ok']}  throttled {self.counts[THROTTLED]}  errors {self.counts[ERROR]}"
        self.progress.update(self.requests, advance=1, detail=detail)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f} ms"


def _usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.6f}"


def results_table(summary: Summary, costs: Costs, fleet: Fleet, title: str) -> Table:
    """Latency percentiles, then the run's totals, rates and costs."""
    table = Table(title=title)
    table.add_column("figure")
    for point in ("p50", "p95", "p99"):
        table.add_column(point, justify="right")
    for label, values, render in (
        ("time to first token", summary.ttft_s, _ms),
        ("inter-token latency", summary.inter_token_latency_s, _ms),
        ("end-to-end latency", summary.e2e_s, _ms),
        (
            "output tokens/s per request",
            summary.output_tokens_per_s_per_request,
            lambda v: "—" if v is None else f"{v:,.1f}",
        ),
    ):
        values = values or {}
        table.add_row(label, *(render(values.get(point)) for point in (50, 95, 99)))
    return table


def totals_table(summary: Summary, costs: Costs, fleet: Fleet) -> Table:
    table = Table(show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        (
            "requests",
            f"{summary.requests} ({summary.succeeded} ok, {summary.throttled} throttled, {summary.errors} errors)",
        ),
        ("error rate / throttle rate", f"{summary.error_rate:.1%} / {summary.throttle_rate:.1%}"),
        ("wall time", f"{summary.wall_s:,.1f} s"),
        ("requests/s", f"{summary.requests_per_s:,.2f}"),
        (
            "output token throughput",
            f"{summary.output_token_throughput_per_s:,.1f} tokens/s "
            f"({summary.output_tokens} tokens in {summary.benchmark_duration_s:,.1f} s)",
        ),
        ("fleet", ", ".join(f"{n} × {kind} @ ${p:.3f}/h" for kind, n, p in fleet.variants)),
        ("cost total", _usd(costs.total_usd)),
        ("cost per request", _usd(costs.per_request_usd)),
        ("cost per 1k output tokens", _usd(costs.per_1k_output_tokens_usd)),
        ("cost per session", _usd(costs.per_session_usd)),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table
