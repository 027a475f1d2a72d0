"""Settings discovery and pinning, the local endpoint's second variant, case selection and the
CLI's bad input (exit 2 before anything starts)."""

from __future__ import annotations

import pytest

from compare.__main__ import agent_urls, main
from compare.local import variant_models
from compare.measure import select_cases
from compare.settings import COMPONENT, VARIANT, CompareError, discover, local_config_dir
from evaluation.eval_set import load_eval_set
from kit_config.loader import config_dir, load_environment


@pytest.fixture(scope="module")
def local_dev(tmp_path_factory):
    return load_environment("dev", local_config_dir(config_dir(), "dev", tmp_path_factory.mktemp("config")))


def test_a_single_variant_env_gets_a_challenger_copy_with_its_own_component(local_dev):
    variants = local_dev.inference.variants
    assert [v.name for v in variants] == ["primary", "challenger"]
    assert variants[1].instance_type == variants[0].instance_type
    # The same model at a quarter of the context: the setting the local comparison varies.
    assert variants[1].model.name == variants[0].model.name
    assert (variants[0].model.max_model_len, variants[1].model.max_model_len) == (8192, 2048)
    names = [v.component_name(local_dev.inference.endpoint_name) for v in variants]
    assert names == ["governed-agents-dev-llm-primary", "governed-agents-dev-llm-challenger"]


def test_a_two_variant_env_is_compared_as_configured(tmp_path):
    staging = load_environment("staging", local_config_dir(config_dir(), "staging", tmp_path))
    assert [v.name for v in staging.inference.variants] == ["primary", "challenger"]
    assert staging.inference.variants[1].model.name == "Llama-3.1-8B-Instruct"


def test_a_component_is_pinned_by_its_name_and_a_variant_with_its_own_model_by_its_variant(local_dev, tmp_path):
    primary, challenger = discover(local_dev)
    assert (primary.pinned_by, primary.pin) == (COMPONENT, "governed-agents-dev-llm-primary")
    assert primary.endpoint_pin() == {"inference_component": "governed-agents-dev-llm-primary"}
    assert primary.agent_pin() == {
        "AGENT_INFERENCE_COMPONENT": "governed-agents-dev-llm-primary",
        "AGENT_TARGET_VARIANT": "",
    }
    assert (challenger.pinned_by, challenger.pin) == (COMPONENT, "governed-agents-dev-llm-challenger")
    staging = load_environment("staging", local_config_dir(config_dir(), "staging", tmp_path))
    _, other = discover(staging)
    assert (other.pinned_by, other.pin) == (VARIANT, "challenger")
    assert other.endpoint_pin() == {"variant": "challenger"}
    assert other.agent_pin() == {"AGENT_TARGET_VARIANT": "challenger", "AGENT_INFERENCE_COMPONENT": ""}


def test_each_setting_carries_its_runtime_context_and_price(local_dev):
    (primary,) = discover(local_dev, only=["primary"], local_models={"primary": "real"})
    params = primary.params()
    assert params["instance_type"] == "ml.g6.xlarge" and params["hourly_usd_per_instance"] == "1.01"
    assert params["image"].endswith("djl-inference:0.38.0-lmi29.0.0-cu130")
    assert params["inference_ami_version"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert params["model"] == "Qwen2.5-7B-Instruct" and params["local_model"] == "real"
    assert params["lmi.OPTION_MAX_MODEL_LEN"] == "8192" and params["lmi.OPTION_TOOL_CALL_PARSER"] == "hermes"
    (priced,) = discover(local_dev, only=["primary"], price_per_hour=2.5)
    assert priced.hourly_usd == 2.5 and priced.price_source == "--price-per-hour"


def test_an_unknown_setting_is_refused_by_name(local_dev):
    with pytest.raises(CompareError, match=r"--settings nope: the endpoint's variants are \['primary', 'challenger'\]"):
        discover(local_dev, only=["nope"])


def test_the_added_challenger_runs_the_same_model_unless_told_otherwise():
    assert variant_models(["primary", "challenger"], "real", []) == {"primary": "real", "challenger": "real"}
    assert variant_models(["primary", "challenger"], "real", ["challenger=scripted"]) == {
        "primary": "real",
        "challenger": "scripted",
    }


def test_a_limit_spreads_the_cases_over_the_set_first_and_last_included():
    eval_set, _ = load_eval_set()
    cases = eval_set.cases
    chosen = select_cases(eval_set, 4)
    last = len(cases) - 1
    assert [c.id for c in chosen.cases] == [cases[0].id, cases[last // 3].id, cases[2 * last // 3].id, cases[last].id]
    assert [c.id for c in select_cases(eval_set, 1).cases] == [cases[0].id]
    assert select_cases(eval_set, None) is eval_set and select_cases(eval_set, 1000) is eval_set


def test_agent_urls_name_their_setting(local_dev):
    settings = discover(local_dev)
    urls = agent_urls(["primary=https://a.example", "challenger=https://b.example"], settings)
    assert urls == {"primary": "https://a.example", "challenger": "https://b.example"}
    assert agent_urls(["https://a.example"], settings[:1]) == {"primary": "https://a.example"}
    with pytest.raises(CompareError, match="name its setting"):
        agent_urls(["https://a.example"], settings)
    with pytest.raises(CompareError, match=r"no agent for \['challenger'\]"):
        agent_urls(["primary=https://a.example"], settings)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--limit", "0"], "error: --limit: must be at least 1"),
        (["--variant-model", "challenger=gpt"], "error: --variant-model 'challenger=gpt': give VARIANT=real"),
        (["--profile", "nope"], "--profile 'nope': unknown profile"),
        (["--request-timeout", "0"], "error: --request-timeout"),
        (["--mode", "aws", "--env", "dev"], "--mode aws: give --tracking-uri"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(args, expected, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    assert main(args) == 2
    assert expected in capsys.readouterr().err
