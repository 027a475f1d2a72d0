"""The agent image and the Fargate task agree on where the runtime may write (Kit-EcsWritableScratch's other half).

The rule sees the task definition; only the image can make an empty bind mount writable for uid 10001,
by declaring the path as a VOLUME (ECS copies its ownership and mode). A mount the image does not
declare would be root-owned and unwritable on Fargate.
"""

from __future__ import annotations

import json
import re

from kit_config.project import PROJECT_DIR
from tests.helpers import resources


def dockerfile() -> tuple[set[str], dict[str, str], str]:
    text = (PROJECT_DIR / "Dockerfile").read_text()
    volumes: set[str] = set()
    for line in re.findall(r"^VOLUME\s+(.+)$", text, flags=re.MULTILINE):
        volumes.update(json.loads(line) if line.startswith("[") else line.split())
    environment: dict[str, str] = {}
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", text, flags=re.MULTILINE):
        environment.update(re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")))
    user = re.findall(r"^USER\s+(\S+)$", text, flags=re.MULTILINE)[-1]
    return volumes, environment, user


def test_every_writable_mount_of_the_agent_task_is_a_volume_of_the_image(synthesized):
    volumes, environment, user = dockerfile()
    task = next(iter(resources(synthesized.templates[("prod", "Agent")], "AWS::ECS::TaskDefinition").values()))
    [container] = task["Properties"]["ContainerDefinitions"]
    mounts = {m["ContainerPath"] for m in container["MountPoints"] if not m.get("ReadOnly")}
    assert container["ReadonlyRootFilesystem"] is True and container["User"] == user != "0"
    assert mounts and mounts <= volumes, f"mounted {mounts}, the image declares {volumes}"
    for variable in ("HOME", "TMPDIR"):
        assert any(environment[variable] == m or environment[variable].startswith(m + "/") for m in mounts), variable


def test_volume_is_declared_after_the_last_step_that_writes_to_it():
    # Build steps after VOLUME cannot change the declared path: they would be silently discarded.
    lines = (PROJECT_DIR / "Dockerfile").read_text().splitlines()
    volume_at = max(i for i, line in enumerate(lines) if line.startswith("VOLUME"))
    assert not [line for line in lines[volume_at:] if line.startswith(("RUN", "COPY", "ADD"))]
