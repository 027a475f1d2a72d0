"""`python -m kit_config [ENV ...]`: validate environment files without importing CDK."""

from __future__ import annotations

import sys

from kit_config.loader import ConfigError, config_dir, load_environments


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [name for arg in argv for name in arg.split(",") if name and name != "all"] or None
    try:
        configs = load_environments(names)
    except ConfigError as error:
        print(f"Configuration error (nothing was synthesized):\n{error}", file=sys.stderr)
        return 1
    for config in configs:
        print(
            f"{config_dir().name}/{config.name}.yaml: ok "
            f"(account {config.account}, {config.region}, network {config.network.mode}, "
            f"{len(config.availability_zones)} AZs, logs kept {config.log_retention_days} days)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
