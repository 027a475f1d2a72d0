"""`agent.identity`: how the agent authenticates its callers, and how many turns one caller may hold.

Lambda: the Function URL's `AWS_IAM` auth; the caller is the SigV4-verified principal Lambda puts in
the event (`requestContext.authorizer.iam`), so there is nothing to configure but the limit.
Fargate: a bearer JWT the agent verifies itself against keys from config (`jwt`): the isolated
subnets cannot reach an identity provider's JWKS endpoint. The runtime reads the result as
`AGENT_AUTH_MODE`, `AGENT_JWT_*`, `AGENT_JWKS` and `AGENT_MAX_TURNS_PER_CALLER`
(kit_config.runtime_environment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from agent_runtime.settings import RuntimeSettings
from kit_config.config_section import ConfigSection
from kit_config.jwks import ALGORITHM_KEYS, compact_jwks
from kit_config.runtime_fields import runtime_field, setting_bounds
from kit_config.validation_errors import display_path, errors_at

# The validation context key under which the loader passes the config file's directory;
# `jwks_file` is relative to it.
CONFIG_DIR_CONTEXT = "config_dir"
# The upper bound of agent_runtime.settings.RuntimeSettings.max_turns_per_caller, which the config field shares.
MAX_TURNS_PER_CALLER = setting_bounds(RuntimeSettings.model_fields["max_turns_per_caller"])["le"]


class JwtVerification(ConfigSection):
    """What a bearer token must satisfy on Fargate; replace the shipped example with your IdP's values."""

    issuer: str = Field(description="The IdP's issuer URL, exactly as in the tokens' `iss` (https)")
    audience: str = Field(min_length=1, description="The `aud` the IdP puts in tokens for this agent")
    algorithms: list[str] = Field(min_length=1, description="Accepted signature algorithms: RS256 and/or ES256")
    jwks_file: str = Field(description="The IdP's public keys as a JWKS document, relative to the config file")
    # Whole seconds, with the runtime's default and bounds (jwt_leeway_seconds).
    leeway_seconds: int = runtime_field("jwt_leeway_seconds", description="Clock skew allowed on exp/nbf/iat")
    _jwks: str = PrivateAttr()

    @field_validator("issuer")
    @classmethod
    def _https_issuer(cls, value: str) -> str:
        # OpenID Connect Discovery 1.0 §3: the issuer is "a case sensitive URL using the https scheme
        # ... and no query or fragment components" (https://openid.net/specs/openid-connect-discovery-1_0.html).
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                f"{value!r} is not an issuer URL: use https://host[/path] without query or fragment, "
                "exactly as the identity provider writes it in the tokens' iss claim"
            )
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        refused = [alg for alg in algorithms if alg not in ALGORITHM_KEYS]
        if refused:
            raise ValueError(
                f"{', '.join(map(repr, refused))} not allowed: only {' and '.join(ALGORITHM_KEYS)} "
                "(asymmetric signatures; HMAC algorithms would accept tokens signed with the public key, "
                "and 'none' tokens without any signature)"
            )
        if len(set(algorithms)) != len(algorithms):
            raise ValueError(f"lists an algorithm twice: {algorithms}")
        return algorithms

    @model_validator(mode="after")
    def _load_jwks(self, info: ValidationInfo) -> JwtVerification:
        base = Path((info.context or {}).get(CONFIG_DIR_CONTEXT) or ".")
        path = base / self.jwks_file
        shown = display_path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise errors_at(
                "JwtVerification", [(("jwks_file",), f"{shown}: cannot be read ({error.strerror or error})")]
            ) from None
        try:
            self._jwks = compact_jwks(text, self.algorithms)
        except ValueError as error:
            raise errors_at("JwtVerification", [(("jwks_file",), f"{shown}: {error}")]) from None
        return self

    @property
    def jwks(self) -> str:
        """The JWKS document as compact JSON, as the task receives it in AGENT_JWKS."""
        return self._jwks


class _Identity(ConfigSection):
    max_turns_per_caller: int = runtime_field(
        "max_turns_per_caller", description="Turns one caller may have in flight; the next answers 429 with Retry-After"
    )


class LambdaIdentity(_Identity):
    """A Lambda agent's callers are authenticated by the Function URL (AuthType AWS_IAM)."""

    iam_caller: Literal["role", "role_session"] = runtime_field(
        "iam_caller",
        description="Who an assumed-role caller is: `role` (every session of the role is one caller; SDKs name "
        "sessions per process) or `role_session` (each role session is a caller: for a front end that assumes "
        "the role per end user and names the session after the user). docs/governance.md, 'Who an IAM caller is'",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_jwt(cls, data: Any) -> Any:
        if isinstance(data, dict) and "jwt" in data:
            raise errors_at(
                "LambdaIdentity",
                [
                    (
                        ("jwt",),
                        (
                            "compute: lambda authenticates callers with the Function URL's AWS_IAM auth (the SigV4-verified "
                            "principal); bearer tokens are verified on Fargate only. Remove jwt, or use compute: fargate"
                        ),
                    )
                ],
            )
        return data


class FargateIdentity(_Identity):
    """A Fargate agent verifies a bearer JWT on every request (`jwt` is required)."""

    jwt: JwtVerification
