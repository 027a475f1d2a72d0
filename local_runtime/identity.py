"""A local identity provider: an ES256 key pair, its JWKS file, and tokens signed with it.

`make local` (local_runtime.__main__) creates one in its state folder on every start (a fresh key
pair; the caller-id secret is kept, so a caller's sessions stay reachable across restarts), points
the agent at it (`agent_settings()`: AGENT_AUTH_MODE=jwt, issuer, audience, AGENT_JWKS_FILE,
AGENT_CALLER_ID_SECRET) and prints a ready-to-use token. Clients and tests load the same folder
and mint their own tokens (`LocalIdentity.load(folder).token("alice")`):

    curl -H "Authorization: Bearer $(python -m local_runtime.identity token alice)" ...
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ISSUER = "https://idp.local.invalid/"  # .invalid: never a real host (RFC 2606)
AUDIENCE = "governed-agents-local"
KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"
SECRET_FILE = "caller-id-secret"
DEFAULT_DIR = Path(".local/identity")
DEFAULT_TTL_SECONDS = 12 * 3600  # a working day of `make local`


@dataclass(frozen=True)
class LocalIdentity:
    folder: Path
    private_key: object  # cryptography EllipticCurvePrivateKey
    kid: str
    issuer: str = ISSUER
    audience: str = AUDIENCE

    @classmethod
    def create(cls, folder: Path) -> LocalIdentity:
        """A new key pair (and, if absent, the caller-id secret) written to `folder`."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        folder = Path(folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        _write_private(
            folder / KEY_FILE,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        if not (folder / SECRET_FILE).exists():
            _write_private(folder / SECRET_FILE, secrets.token_hex(32).encode())
        identity = cls(folder, key, kid=f"local-{secrets.token_hex(4)}")  # new per key: rotation lists both
        (folder / JWKS_FILE).write_text(json.dumps({"keys": [identity.public_jwk()]}, indent=2), encoding="utf-8")
        return identity

    @classmethod
    def load(cls, folder: Path) -> LocalIdentity:
        """The identity a running `make local` (or LocalStack) created in `folder`."""
        from cryptography.hazmat.primitives import serialization

        folder = Path(folder).resolve()
        try:
            key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), password=None)
            kid = json.loads((folder / JWKS_FILE).read_text(encoding="utf-8"))["keys"][0]["kid"]
        except (OSError, ValueError, KeyError, IndexError) as error:
            raise FileNotFoundError(f"no local identity in {folder} (start `make local` first): {error}") from None
        return cls(folder, key, kid)

    def public_jwk(self, kid: str | None = None) -> dict:
        from jwt.algorithms import ECAlgorithm

        jwk = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": kid or self.kid, "use": "sig", "alg": "ES256"}

    def token(self, subject: str, ttl_seconds: float = DEFAULT_TTL_SECONDS, **claims) -> str:
        """A token for `subject`, signed like a real IdP's (ES256, kid header); `claims` override."""
        import jwt

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl_seconds),
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm="ES256", headers={"kid": self.kid})

    def headers(self, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject)}"}

    def agent_settings(self) -> dict[str, str]:
        """The AGENT_* identity variables that point an agent at this provider (local mode only)."""
        return {
            "AGENT_AUTH_MODE": "jwt",
            "AGENT_JWT_ISSUER": self.issuer,
            "AGENT_JWT_AUDIENCE": self.audience,
            "AGENT_JWT_ALGORITHMS": json.dumps(["ES256"]),
            "AGENT_JWKS_FILE": str(self.folder / JWKS_FILE),
            "AGENT_CALLER_ID_SECRET": (self.folder / SECRET_FILE).read_text(encoding="utf-8").strip(),
        }


# Identity variables a deployment may set that would contradict the local provider.
FOREIGN_SETTINGS = ("AGENT_JWKS", "AGENT_CALLER_ID_KMS_KEY")


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_runtime.identity", description="Mint a token of the local identity provider."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="print a bearer token for SUBJECT")
    token.add_argument("subject", nargs="?", default="local-user")
    token.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the identity folder of `make local`")
    token.add_argument("--ttl", type=float, default=DEFAULT_TTL_SECONDS, help="seconds the token is valid")
    args = parser.parse_args(argv)
    try:
        print(LocalIdentity.load(args.dir).token(args.subject, args.ttl))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
