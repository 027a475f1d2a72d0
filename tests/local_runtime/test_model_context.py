"""The real local model server serves a variant's max_model_len (LMI's OPTION_MAX_MODEL_LEN) as its context,
never more than the small model's own, so it refuses at least every prompt the endpoint would."""

from __future__ import annotations

from types import SimpleNamespace

from local_runtime.__main__ import LOCAL_MAX_CONTEXT, model_command


def _context(command: list[str]) -> int:
    return int(command[command.index("--n-ctx") + 1])


def test_the_real_server_takes_the_variants_context_capped_at_the_local_models():
    args = SimpleNamespace(host="127.0.0.1")
    assert _context(model_command("real", 8080, args, 2048)) == 2048
    assert _context(model_command("real", 8080, args, 8192)) == LOCAL_MAX_CONTEXT == 4096


def test_the_scripted_double_has_no_context_to_set():
    args = SimpleNamespace(host="127.0.0.1", scenario="echo")
    assert "--n-ctx" not in model_command("scripted", 8080, args, 2048)
