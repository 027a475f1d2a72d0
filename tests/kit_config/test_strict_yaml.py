"""A YAML key given twice, at any depth, is an error naming the file, the key and both lines."""

from __future__ import annotations

import pytest
import yaml

from kit_config import ConfigError, load_environment
from kit_config.strict_yaml import DuplicateKeyError, load_unique_keys
from tests.helpers import run_app_py
from tests.kit_config.conftest import CONFIG_DIR


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_files_read_as_safe_load_reads_them(env):
    text = (CONFIG_DIR / f"{env}.yaml").read_text()
    assert load_unique_keys(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text, path, key, lines",
    [
        ("region: us-east-1\naccount: '1'\nregion: us-west-2\n", "region", "region", (1, 3)),
        ("network:\n  cidr: 10.0.0.0/16\n  az_count: 2\n  cidr: 10.1.0.0/16\n", "network.cidr", "cidr", (2, 4)),
        (
            "inference:\n  variants:\n    - name: a\n      autoscaling:\n        min_instances: 1\n"
            "        max_instances: 2\n        min_instances: 3\n",
            "inference.variants[0].autoscaling.min_instances",
            "min_instances",
            (5, 7),
        ),
        ("tags: {Owner: a, Owner: b}\n", "tags.Owner", "Owner", (1, 1)),
        # YAML 1.1 reads `yes` and `true` as the same boolean key
        ("flags:\n  yes: 1\n  true: 2\n", "flags.True", True, (2, 3)),
    ],
)
def test_a_repeated_key_is_refused_with_its_path_and_both_lines(text, path, key, lines):
    with pytest.raises(DuplicateKeyError) as error:
        load_unique_keys(text)
    assert (error.value.path, error.value.key, error.value.first_line, error.value.second_line) == (path, key, *lines)
    assert f"the key {key!r} is given twice (lines {lines[0]} and {lines[1]})" in str(error.value)


def test_merge_keys_override_without_being_duplicates():
    """`<<: *anchor` then a key of its own is YAML's documented override, not a repeat."""
    text = "base: &base {min_instances: 1, max_instances: 2}\nvariant:\n  <<: *base\n  max_instances: 4\n"
    assert load_unique_keys(text)["variant"] == {"min_instances": 1, "max_instances": 4}


def test_the_same_key_in_sibling_mappings_is_not_a_repeat():
    text = "variants:\n  - name: a\n    weight: 1\n  - name: b\n    weight: 2\n"
    assert [v["name"] for v in load_unique_keys(text)["variants"]] == ["a", "b"]


def test_an_empty_document_is_none_like_safe_load():
    assert load_unique_keys("") is None and load_unique_keys("# only a comment\n") is None


def _repeat_a_key(config_dir):
    """dev.yaml with `log_retention_days:` written a second time below the original."""
    path = config_dir / "dev.yaml"
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("log_retention_days:")) + 1
    path.write_text("\n".join([*lines, "log_retention_days: 1", ""]))
    return first, len(lines) + 1


def test_config_load_names_the_file_the_key_and_both_lines(config_dir):
    first, second = _repeat_a_key(config_dir)
    with pytest.raises(ConfigError) as error:
        load_environment("dev", config_dir)
    assert str(error.value) == (
        f"{config_dir / 'dev.yaml'}: log_retention_days: the key 'log_retention_days' is given twice "
        f"(lines {first} and {second}); YAML would silently keep only the second value; remove one"
    )


def test_app_py_stops_on_a_repeated_key_before_anything_is_written(config_dir, tmp_path):
    _repeat_a_key(config_dir)
    outdir = tmp_path / "never-created"
    result = run_app_py(config_dir, outdir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "dev.yaml: log_retention_days: the key 'log_retention_days' is given twice" in result.stderr
    assert "Traceback" not in result.stderr
    assert not outdir.exists()
