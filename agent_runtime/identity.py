"""Who is calling: one `authenticate(request) -> Caller` for both hosts, and the caller's pseudonym.

`AGENT_AUTH_MODE=iam` (Lambda behind a Function URL with AuthType AWS_IAM): Lambda has verified the
SigV4 signature before the function runs and puts the signer in the event's
`requestContext.authorizer.iam` (payload format 2.0,
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads). The principal is
its `userArn`, read from the Lambda event Mangum hands the app (`scope["aws.event"]`), never from a
header: any header is the client's to set. A request without that event is refused. For an assumed
role that ARN ends in the role session name, which the caller chooses (`AGENT_IAM_CALLER`: `role`
drops it, `role_session` keeps it; see `iam_principal`).

`AGENT_AUTH_MODE=jwt` (Fargate, local): `Authorization: Bearer <JWT>` verified with PyJWT against the
configured JWKS (inline `AGENT_JWKS`, or `AGENT_JWKS_FILE`): the key is chosen by the token's `kid`,
the algorithm must be in `AGENT_JWT_ALGORITHMS` (RS256/ES256; never `none`, never HMAC) and match the
key's own, and `exp`, `iss`, `aud`, `sub` are required (`nbf`, `iat` checked when present, with
`AGENT_JWT_LEEWAY_SECONDS`). The keys come from config because the agent's isolated subnets cannot
reach an identity provider; rotation is listing the old and the new key together.

The caller id is a keyed hash (HMAC-SHA256) of the principal: KMS `GenerateMac` with
`AGENT_CALLER_ID_KMS_KEY` on AWS (the key never leaves KMS; results cached per principal), or
`AGENT_CALLER_ID_SECRET` locally. It names the caller in session storage, logs and traces; neither
the principal nor the token is logged or traced anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request

from agent_runtime.errors import ApiError
from agent_runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)
CALLER_ID_BYTES = 20  # 160 bits: collisions would merge two callers' sessions
CACHE_SIZE = 4096  # principals whose caller id the process keeps (KMS is asked once per principal)
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class IdentityConfigError(ValueError):
    """The identity settings cannot work; the message names the variable."""


@dataclass(frozen=True)
class Caller:
    caller_id: str  # pseudonymous: safe for logs, traces and storage keys
    principal: str  # the verified identity; never logged or traced

    def __repr__(self) -> str:  # keep the principal out of any accidental log line
        return f"Caller(caller_id={self.caller_id!r})"


def unauthorized(reason: str) -> ApiError:
    return ApiError(401, "Unauthorized", reason, extra_headers=(("WWW-Authenticate", "Bearer"),))


class Authenticator:
    """Built once per process (start-up validates the settings); `authenticate` per request."""

    def __init__(self, settings: RuntimeSettings, kms_client=None) -> None:
        self.settings = settings
        self.mode = settings.auth_mode
        self._pseudonyms = Pseudonyms(settings, kms_client)
        self._keys = load_keys(settings) if self.mode == "jwt" else {}

    async def authenticate(self, request: Request) -> Caller:
        principal = self.principal(request)
        return Caller(await self._pseudonyms.caller_id(principal), principal)

    def principal(self, request: Request) -> str:
        if self.mode == "iam":
            return iam_principal(request.scope.get("aws.event"), self.settings.iam_caller)
        return jwt_principal(self.settings.jwt_issuer, self.verify(bearer_token(request))["sub"])

    def verify(self, token: str) -> dict:
        """The token's claims if it is valid; otherwise a 401 whose reason never quotes the token."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise unauthorized("The bearer token is not a JWT.") from None
        key = self._keys.get(header.get("kid"))
        if key is None:
            raise unauthorized("The bearer token's key (kid) is not among the configured keys.")
        if header.get("alg") != key.algorithm_name:
            raise unauthorized("The bearer token's algorithm is not allowed for its key.")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS), "verify_sub": True},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("The bearer token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise unauthorized("The bearer token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise unauthorized("The bearer token is for another audience.") from None
        except jwt.InvalidIssuerError:
            raise unauthorized("The bearer token is from another issuer.") from None
        except jwt.MissingRequiredClaimError as error:
            raise unauthorized(f"The bearer token lacks the {error.claim!r} claim.") from None
        except jwt.InvalidSignatureError:
            raise unauthorized("The bearer token's signature does not verify.") from None
        except jwt.InvalidTokenError:
            raise unauthorized("The bearer token is invalid.") from None


def bearer_token(request: Request) -> str:
    value = request.headers.get("authorization")
    if not value:
        raise unauthorized("Send 'Authorization: Bearer <token>'.")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def jwt_principal(issuer: str, subject: str) -> str:
    # The issuer is the configured one (verified), so the separator cannot be forged into it.
    return f"jwt:{issuer}\n{subject}"


def iam_principal(event, caller: str = "role") -> str:
    """The SigV4-verified principal of a Function URL (AuthType AWS_IAM) event.

    An assumed role's ARN is `arn:<partition>:sts::<account>:assumed-role/<role>/<session name>`
    ("IAM identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
    The session name is whatever the caller passed to AssumeRole, and SDKs pick one per process
    (botocore: `botocore-session-<time>`), so with `caller="role"` it is dropped: every session of the
    role is one caller. `caller="role_session"` keeps the full ARN, for a front end that assumes the
    role once per end user and names the session after the user. Other principals (IAM users, the
    account root, federated users) are their ARN either way.
    """
    iam = (((event or {}).get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    arn = iam.get("userArn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise unauthorized("No IAM-authenticated caller: call the function URL with a SigV4-signed request.")
    if caller == "role":
        arn = _without_session_name(arn)
    return f"iam:{arn}"


def _without_session_name(arn: str) -> str:
    """`arn:aws:sts::1:assumed-role/role/session` -> `arn:aws:sts::1:assumed-role/role`; anything else unchanged."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts":
        resource = parts[5].split("/")
        # A role name cannot contain '/' (the role's path is not part of this ARN), so exactly three segments.
        if len(resource) == 3 and resource[0] == "assumed-role":
            return ":".join(parts[:5] + ["/".join(resource[:2])])
    return arn


def load_keys(settings: RuntimeSettings) -> dict:
    """kid -> PyJWK of the configured JWKS, only keys whose algorithm is allowed; start-up checks."""
    import jwt

    for field in ("jwt_issuer", "jwt_audience"):
        if not getattr(settings, field):
            raise IdentityConfigError(
                f"AGENT_{field.upper()} is not set: AGENT_AUTH_MODE=jwt verifies it in every token."
            )
    if settings.jwks and settings.jwks_file:
        raise IdentityConfigError("set AGENT_JWKS or AGENT_JWKS_FILE, not both.")
    source = "AGENT_JWKS" if settings.jwks else "AGENT_JWKS_FILE"
    try:
        raw = settings.jwks or (settings.jwks_file.read_text(encoding="utf-8") if settings.jwks_file else None)
    except OSError as error:
        raise IdentityConfigError(f"AGENT_JWKS_FILE={settings.jwks_file}: cannot read it ({error.strerror}).") from None
    if raw is None:
        raise IdentityConfigError(
            "AGENT_JWKS (the JWKS document) or AGENT_JWKS_FILE is needed with AGENT_AUTH_MODE=jwt."
        )
    try:
        document = json.loads(raw)
        entries = document["keys"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise IdentityConfigError(f'{source} is not a JWKS document ({{"keys": [...]}}).') from None
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue  # encryption keys are not for verifying
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWKError:
            continue  # a key type or algorithm this agent does not use (e.g. an IdP's RS384 key)
        if key.algorithm_name not in settings.jwt_algorithms:
            continue  # never HMAC ('oct' keys), only AGENT_JWT_ALGORITHMS
        if not entry.get("kid"):
            raise IdentityConfigError(f"{source}: every signing key needs a 'kid' (tokens select their key by it).")
        keys[entry["kid"]] = key
    if not keys:
        raise IdentityConfigError(
            f"{source} has no signing key for {', '.join(settings.jwt_algorithms)} (AGENT_JWT_ALGORITHMS)."
        )
    return keys


class Pseudonyms:
    """principal -> caller id: HMAC-SHA256, by KMS GenerateMac on AWS or a local secret; LRU-cached."""

    def __init__(self, settings: RuntimeSettings, kms_client=None, size: int = CACHE_SIZE) -> None:
        if settings.caller_id_kms_key and settings.caller_id_secret:
            raise IdentityConfigError("set AGENT_CALLER_ID_KMS_KEY or AGENT_CALLER_ID_SECRET, not both.")
        if not settings.caller_id_kms_key and not settings.caller_id_secret:
            raise IdentityConfigError(
                "AGENT_CALLER_ID_KMS_KEY (an HMAC_256 KMS key) or, locally, "
                "AGENT_CALLER_ID_SECRET is needed: caller ids are a keyed hash."
            )
        if settings.caller_id_secret is not None and len(settings.caller_id_secret.get_secret_value()) < 16:
            raise IdentityConfigError("AGENT_CALLER_ID_SECRET must be at least 16 characters.")
        self.settings = settings
        self._kms = kms_client
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    async def caller_id(self, principal: str) -> str:
        with self._lock:
            cached = self._cache.get(principal)
            if cached is not None:
                self._cache.move_to_end(principal)
                return cached
        caller_id = (
            await asyncio.to_thread(self.compute, principal)
            if self.settings.caller_id_kms_key
            else self.compute(principal)
        )
        with self._lock:
            self._cache[principal] = caller_id
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return caller_id

    def compute(self, principal: str) -> str:
        message = principal.encode()
        if self.settings.caller_id_kms_key:
            try:
                mac = self.kms().generate_mac(
                    KeyId=self.settings.caller_id_kms_key, MacAlgorithm="HMAC_SHA_256", Message=message
                )["Mac"]
            except Exception:
                log.warning("caller id: KMS GenerateMac failed", exc_info=True)
                raise ApiError(
                    503, "IdentityUnavailable", "The caller's identity cannot be checked right now.", 5
                ) from None
        else:
            mac = hmac.new(self.settings.caller_id_secret.get_secret_value().encode(), message, hashlib.sha256).digest()
        return base64.b32encode(mac[:CALLER_ID_BYTES]).decode().lower()

    def kms(self):
        if self._kms is None:
            import boto3
            from botocore.config import Config

            self._kms = boto3.Session(region_name=self.settings.region).client(
                "kms",
                config=Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"}),
            )
        return self._kms
