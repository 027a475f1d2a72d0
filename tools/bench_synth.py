"""`make bench-synth`: wall time of synthesizing the kit (all environments, all packs) vs. a
bare CDK app with one empty stack, measured in the same run, and their ratio.

Both are run as fresh processes the way `cdk synth` runs app.py (Python start, jsii/Node start,
construct tree, synth), `--runs` times each, interleaved; the median is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from kit_config.project import PROJECT_DIR

# Default context: with cdk.json's strict validation flag an empty template is itself an error.
BARE_APP = """
from aws_cdk import App, Stack
app = App()
Stack(app, "Empty")
app.synth()
"""


def timed(command: list[str], outdir: str) -> float:
    env = {**os.environ, "CDK_OUTDIR": outdir}
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    kit_times, bare_times = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            kit_times.append(timed([sys.executable, "app.py"], f"{scratch}/kit{run}"))
            bare_times.append(timed([sys.executable, "-c", BARE_APP], f"{scratch}/bare{run}"))
    kit, bare = statistics.median(kit_times), statistics.median(bare_times)
    print(
        f"kit app (3 environments, 4 packs, reports): median {kit:.2f} s  runs {', '.join(f'{t:.2f}' for t in kit_times)}"
    )
    print(
        f"bare app (one empty stack):                  median {bare:.2f} s  runs {', '.join(f'{t:.2f}' for t in bare_times)}"
    )
    print(f"ratio kit / bare: {kit / bare:.2f}x")
    # Both run in the same minutes, so the ratio holds on a busy machine better than the seconds do.
    print(
        f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
