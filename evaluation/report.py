"""The evaluation's printed summary: one line per case, pass rates per scorer, where to look in MLflow."""

from __future__ import annotations

from evaluation.runner import Outcome

MARKS = {True: "pass", False: "FAIL", None: "-"}


def _mark(value) -> str:
    if isinstance(value, str):  # judges answer "yes"/"no"
        value = {"yes": True, "no": False}.get(value.lower())
    return MARKS.get(value, str(value))


def render(outcome: Outcome, scorer_names: list[str], tracking_uri: str) -> str:
    width = max([len(row["id"]) for row in outcome.rows] + [4])
    header = f"{'case':<{width}}  " + "  ".join(scorer_names) + "  tools used"
    lines = [header, "-" * len(header)]
    for row in outcome.rows:
        outputs = row["outputs"]
        tools = ",".join(outputs.get("tools_used") or []) or ("error" if outputs.get("error") else "none")
        marks = "  ".join(f"{_mark(row['scores'].get(name)):^{len(name)}}" for name in scorer_names)
        lines.append(f"{row['id']:<{width}}  {marks}  {tools}")
    lines += ["", f"{'scorer':<24} pass rate  ({len(outcome.rows)} cases)"]
    for name in scorer_names:
        rate = outcome.pass_rate(name)
        lines.append(f"{name:<24} {'n/a' if rate is None else f'{rate:6.1%}'}")
    lines += [
        "",
        f"agent version   {outcome.agent_version}",
        f"LoggedModel     {outcome.model_id or '(not registered: results tagged with the version only)'}",
        f"MLflow run      {outcome.run_id} (experiment {outcome.experiment_id})",
    ]
    if tracking_uri.startswith("http"):
        lines.append(
            f"                {tracking_uri.rstrip('/')}/#/experiments/{outcome.experiment_id}/evaluation-runs"
            f"?selectedRunUuid={outcome.run_id}"
        )
    lines.append(f"wall time       {outcome.wall_seconds:.1f} s")
    return "\n".join(lines)
