"""One name per concept: no two module-level classes of the kit's packages share a name (private bases too)."""

from __future__ import annotations

import ast
from collections import defaultdict

from kit_config.project import PROJECT_DIR

ROOT = PROJECT_DIR
PACKAGES = ("agent_runtime", "kit_config", "kit_constructs", "stacks", "governance", "local_runtime")


def class_names(packages=PACKAGES) -> dict[str, list[str]]:
    defined = defaultdict(list)
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:  # importable names
                if isinstance(node, ast.ClassDef):
                    defined[node.name].append(str(path.relative_to(ROOT)))
    return defined


def test_no_two_classes_share_a_name():
    shared = {name: paths for name, paths in class_names().items() if len(paths) > 1}
    assert shared == {}


def test_the_check_sees_a_shared_name():
    # release/ and loadtest/ each define their own Summary class, which is what the check reports.
    assert len(class_names(("release", "loadtest"))["Summary"]) == 2
