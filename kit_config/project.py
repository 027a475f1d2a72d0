"""The kit's project directory, the one place that knows where it is.

It holds cdk.json (the CDK feature flags), config/ (the environment files), the Dockerfile (the
agent image's build context), node_modules/ (the CDK CLI and Node 22) and .venv/. The Makefile
installs the kit in editable mode from this checkout, so the packages sit directly inside it.
A second checkout (a git worktree) needs its own .venv: a shared one imports the kit, and so finds
the project directory, in the checkout it was installed from.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
