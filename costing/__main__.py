"""`python -m costing [ENV ...]` (`make cost`): each environment's monthly cost envelope."""

from __future__ import annotations

import sys

from costing.envelope import PriceNotListed, cost_envelope
from costing.table import render, render_sources
from kit_config.loader import ConfigError, load_environments


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [name for arg in argv for name in arg.split(",") if name and name != "all"] or None
    try:
        envelopes = [cost_envelope(config) for config in load_environments(names)]
    except ConfigError as error:
        print(f"Configuration error (no cost computed):\n{error}", file=sys.stderr)
        return 1
    except PriceNotListed as error:
        print(f"No price for this region: {error}", file=sys.stderr)
        return 1
    print("\n\n".join(render(envelope) for envelope in envelopes))
    print()
    print(render_sources())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
