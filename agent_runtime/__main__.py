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
        **server_options(),
    )


# Named explicitly, not uvicorn's "auto" (which takes uvloop and httptools only when they import): a missing
# package fails at start-up instead of quietly serving on the slower stack.
SERVER_STACKS = {"uvloop": {"loop": "uvloop", "http": "httptools"}, "asyncio": {"loop": "asyncio", "http": "h11"}}


def server_options() -> dict:
    """uvicorn's keep-alive and TLS from the runtime's settings (AGENT_KEEP_ALIVE_SECONDS, AGENT_TLS).

    Keep-alive above the load balancer's idle timeout, so the load balancer, not uvicorn, closes an idle
    connection: "configure the idle timeout of your application to be larger than the idle timeout
    configured for the load balancer", else it may reuse a connection the target has closed and answer
    502 (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout).
    """
    from pydantic import ValidationError

    from agent_runtime.settings import RuntimeSettings

    try:
        settings = RuntimeSettings()
    except ValidationError:
        return {}  # the app reports settings errors itself and does not start
    options: dict = {"timeout_keep_alive": settings.keep_alive_seconds, **SERVER_STACKS[settings.server_stack]}
    if settings.tls == "self_signed":
        from agent_runtime.server_tls import self_signed_certificate

        certificate, key = self_signed_certificate()
        options.update(ssl_certfile=str(certificate), ssl_keyfile=str(key))
    return options


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
