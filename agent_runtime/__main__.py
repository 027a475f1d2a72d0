"""`python -m agent_runtime`: serve the API with uvicorn (Fargate, and `make local`)."""

from __future__ import annotations

import argparse
import os


def main() -> None:
    import uvicorn

    from agent_runtime.logging_setup import configure_logging

    configure_logging()
    _check_identity_settings()
    parser = argparse.ArgumentParser(prog="python -m agent_runtime")
    parser.add_argument("--host", default=os.environ.get("AGENT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AGENT_PORT", "8000")))
    args = parser.parse_args()
    uvicorn.run(
        "agent_runtime.api:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        # No uvicorn log config: its loggers reach the JSON handler; the access log is
        # replaced by RequestLog's line (which has the request's ids).
        log_config=None,
        timeout_graceful_shutdown=30,
        access_log=False,
    )


def _check_identity_settings() -> None:
    """Refuse to start with identity settings that cannot work: one line naming the variable, no traceback."""
    from pydantic import ValidationError

    from agent_runtime.identity import Authenticator, IdentityConfigError
    from agent_runtime.settings import RuntimeSettings

    try:
        Authenticator(RuntimeSettings())
    except IdentityConfigError as error:
        raise SystemExit(f"error: {error}") from None
    except ValidationError:
        pass  # the app reports settings errors itself, as before


if __name__ == "__main__":
    main()
