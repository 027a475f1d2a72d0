"""The local runtime stands apart from the AWS stacks: no module of it imports aws_cdk."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import local_runtime
from kit_config.project import PROJECT_DIR
from tests.local_runtime.support import CHILD_ENV


def test_no_local_runtime_module_imports_aws_cdk():
    modules = [m.name for m in pkgutil.walk_packages(local_runtime.__path__, "local_runtime.")]
    assert "local_runtime.emulator" in modules and "local_runtime.model_servers.llama" in modules
    code = (
        "import importlib, sys\n"
        + "".join(f"importlib.import_module({m!r})\n" for m in modules)
        + "print([m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'constructs', 'cdk_nag', 'stacks')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=CHILD_ENV | {"PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
