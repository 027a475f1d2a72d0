"""What the comparison shows: a table with one column per setting, and the cost-versus-quality plot
(matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.table import Table

from compare.figures import SettingFigures
from compare.settings import Setting


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f} ms"


def _usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.6f}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def comparison_table(
    settings: Sequence[Setting], figures: Sequence[SettingFigures], front: set[str], best: str | None, title: str
) -> Table:
    """Rows are figures, columns settings (a few settings fit any terminal this way)."""
    table = Table(title=title)
    table.add_column("figure")
    for setting in settings:
        mark = " ★" if setting.name == best else ""
        table.add_column(f"{setting.name}{mark}", justify="right")
    scorers = list(figures[0].scorer_pass_rates) if figures else []
    rows = [
        ("pinned by", [f"{s.pinned_by} {s.pin}" for s in settings]),
        ("instance", [f"{s.instance_count} × {s.instance_type} @ ${s.hourly_usd:.3f}/h" for s in settings]),
        ("model", [s.context.get("model", "") for s in settings]),
    ]
    if any("local_model" in s.context for s in settings):
        rows.append(("local model server", [s.context.get("local_model", "") for s in settings]))
    rows += [
        ("pass rate (tasks)", [f"{f.pass_rate:.1%} ({f.tasks_passed}/{f.tasks})" for f in figures]),
        *((f"  {name}", [_rate(f.scorer_pass_rates.get(name)) for f in figures]) for name in scorers),
        ("end-to-end p50", [_ms(f.load("e2e_p50_s")) for f in figures]),
        ("end-to-end p95", [_ms(f.load("e2e_p95_s")) for f in figures]),
        ("time to first token p50", [_ms(f.load("ttft_p50_s")) for f in figures]),
        ("inter-token latency p50", [_ms(f.load("itl_p50_s")) for f in figures]),
        ("output tokens/s", [_number(f.load("output_tokens_per_s")) for f in figures]),
        ("$ per 1,000 requests", [_usd(f.cost_per_1k_requests_usd) for f in figures]),
        ("$ per successful task", [_usd(f.cost_per_success_usd) for f in figures]),
        ("Pareto front", ["yes" if f.name in front else "no" for f in figures]),
    ]
    for label, values in rows:
        table.add_row(label, *values)
    return table


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def cost_quality_plot(
    figures: Sequence[SettingFigures], front: Sequence[SettingFigures], best: str | None, path: Path, title: str
) -> Path:
    """Each setting at (cost per successful task, pass rate); the Pareto front joined, the best ringed.
    A setting with no passed task has no cost per success: it is drawn at the right edge, on 0 %."""
    figure, axes = plt.subplots(figsize=(8, 5))
    costs = [f.cost_per_success_usd for f in figures if f.cost_per_success_usd is not None]
    edge = max(costs) * 1.15 if costs else 1.0
    for item in figures:
        cost = item.cost_per_success_usd
        x, y = (cost, item.pass_rate) if cost is not None else (edge, 0.0)
        on_front = any(member.name == item.name for member in front)
        axes.scatter(
            [x],
            [y * 100],
            s=80,
            marker="o" if cost is not None else "x",
            color="tab:blue" if on_front else "tab:gray",
            zorder=3,
        )
        label = item.name + ("" if cost is not None else " (no task passed)")
        axes.annotate(label, (x, y * 100), textcoords="offset points", xytext=(6, 6))
        if item.name == best:
            axes.scatter(
                [x],
                [y * 100],
                s=260,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=2,
                zorder=4,
                label=f"best: {item.name}",
            )
    if front:
        xs = [member.cost_per_success_usd for member in front]
        ys = [member.pass_rate * 100 for member in front]
        axes.step(xs, ys, where="post", color="tab:blue", alpha=0.6, label="Pareto front")
    axes.set_xlabel("$ per successful task (lower is better)")
    axes.set_ylabel("pass rate, % of tasks (higher is better)")
    axes.set_ylim(-5, 105)
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
    axes.set_title(title)
    if front or best:
        axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
