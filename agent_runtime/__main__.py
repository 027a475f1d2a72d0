"""`python -m agent_runtime`: serve the API with uvicorn (Fargate, and `make local`)."""

from __future__ import annotations

import argparse
import os


def main() -> None:
    import uvicorn

    from agent_runtime.logging_setup import configure_logging

    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m agent_runtime")
    parser.add_argument("--host", default=os.environ.get("AGENT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AGENT_PORT", "8000")))
    args = parser.parse_args()
    uvicorn.run("agent_runtime.api:create_app", factory=True, host=args.host, port=args.port,
                # No uvicorn log config: its loggers reach the JSON handler; the access log is
                # replaced by RequestLog's line (which has the request's ids).
                log_config=None, timeout_graceful_shutdown=30, access_log=False)


if __name__ == "__main__":
    main()
