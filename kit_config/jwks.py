"""The JWKS a Fargate agent verifies bearer tokens against, checked when config loads.

The isolated subnets cannot reach an identity provider, so the signing keys come from a file in
the config repository and are passed to the task inline (`AGENT_JWKS`). What can go wrong there is
checked here, without a crypto library: every key is a public signing key the runtime can match
to an allowed algorithm (RFC 7517 JWK members, RFC 7518 §6 key parameters), and no private key
material was committed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable

# RFC 7518 §6.2.2 / §6.3.2 (EC and RSA private parameters) and §6.4.1 (`k`, a symmetric key).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
# The key type and curve each allowed algorithm verifies with (RFC 7518 §3.1).
ALGORITHM_KEYS = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
# NIST SP 800-57 Part 1 / SP 800-131A: RSA keys under 2048 bits are disallowed for signatures.
MIN_RSA_BITS = 2048
P256_COORDINATE_BYTES = 32
# The document travels inline in the task definition (AGENT_JWKS), whose whole size ECS limits to
# 64 KiB ("Task definition size", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html);
# half of it is left for the JWKS, the rest for everything else (about 4.3 KiB today, `make synth`).
MAX_JWKS_BYTES = 32 * 1024


def compact_jwks(text: str, algorithms: Iterable[str]) -> str:
    """The JWKS as compact JSON (what AGENT_JWKS carries), or ValueError listing every problem."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_members)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError('not a JWKS: expected {"keys": [...]} with at least one key (RFC 7517 §5)')
    problems, seen = [], {}
    for index, key in enumerate(keys):
        problems += [f"keys[{index}]{_named(key)}: {problem}" for problem in _key_problems(key, set(algorithms))]
        kid = key.get("kid") if isinstance(key, dict) else None
        if isinstance(kid, str) and kid:
            if kid in seen:
                problems.append(
                    f"keys[{index}]: kid {kid!r} is also keys[{seen[kid]}]'s; the runtime picks a key by "
                    "the token's kid, so each must be unique"
                )
            seen.setdefault(kid, index)
    if problems:
        raise ValueError("; ".join(problems))
    compact = json.dumps(document, separators=(",", ":"))
    if len(compact.encode()) > MAX_JWKS_BYTES:
        raise ValueError(
            f"{len(compact.encode())} bytes as compact JSON; at most {MAX_JWKS_BYTES} fit the task "
            "definition (ECS limits a task definition to 64 KiB): drop retired keys or x5c chains"
        )
    return compact


def _unique_members(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose member names are unique. RFC 7517 §4 lets a JWK parser keep the lexically
    last of a repeated member, and Python's json (so the runtime's PyJWT) does: the key that verifies
    tokens would not be the one reviewed here (the same rule as kit_config.strict_yaml for YAML)."""
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"member {', '.join(map(repr, repeated))} given twice in one object; a JSON parser keeps only the "
            "last one silently (RFC 7517 §4): remove one"
        )
    return dict(pairs)


def _named(key: object) -> str:
    kid = key.get("kid") if isinstance(key, dict) else None
    return f" (kid {kid!r})" if isinstance(kid, str) and kid else ""


def _key_problems(key: object, algorithms: set[str]) -> list[str]:
    if not isinstance(key, dict):
        return ["not a JSON object"]
    private = [member for member in PRIVATE_MEMBERS if member in key]
    if private:
        # Checked first: whatever else is wrong, committed private key material must be removed and rotated.
        return [
            f"holds private key members {', '.join(private)}: a JWKS in config must hold public keys only; "
            "remove the key from the file and rotate it at the identity provider (it has been committed)"
        ]
    problems = []
    if not isinstance(key.get("kid"), str) or not key["kid"]:
        problems.append("has no kid; the runtime selects the verification key by the token header's kid")
    if "use" in key and key["use"] != "sig":
        problems.append(f"use is {key['use']!r}; a verification key has use 'sig'")
    kty, crv = key.get("kty"), key.get("crv")
    verifying = sorted(
        alg for alg, (key_type, curve) in ALGORITHM_KEYS.items() if key_type == kty and curve in (None, crv)
    )
    if kty == "RSA":
        problems += _rsa_problems(key)
    elif kty == "EC":
        problems += _ec_problems(key)
    else:
        return problems + [f"kty {kty!r} is not allowed: only RSA (RS256) and EC P-256 (ES256) public keys"]
    if "alg" in key and key["alg"] not in algorithms:
        problems.append(f"alg {key['alg']!r} is not in algorithms ({', '.join(sorted(algorithms))})")
    elif verifying and not set(verifying) & algorithms:
        problems.append(
            f"a {kty} key verifies only {', '.join(verifying)}, which algorithms does not allow "
            f"({', '.join(sorted(algorithms))})"
        )
    return problems


def _rsa_problems(key: dict) -> list[str]:
    modulus, exponent = _integer(key.get("n")), _integer(key.get("e"))
    if modulus is None or exponent is None:
        return ["an RSA key needs n and e as base64url integers (RFC 7518 §6.3.1)"]
    if modulus.bit_length() < MIN_RSA_BITS:
        return [f"RSA modulus is {modulus.bit_length()} bits; at least {MIN_RSA_BITS} are required"]
    return []


def _ec_problems(key: dict) -> list[str]:
    if key.get("crv") != "P-256":
        return [f"crv {key.get('crv')!r} is not allowed: ES256 verifies with P-256 keys only"]
    for member in ("x", "y"):
        raw = _bytes(key.get(member))
        if raw is None or len(raw) != P256_COORDINATE_BYTES:
            return [f"a P-256 key needs {member} as {P256_COORDINATE_BYTES} base64url bytes (RFC 7518 §6.2.1)"]
    return []


def _bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or not value or "=" in value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _integer(value: object) -> int | None:
    raw = _bytes(value)
    return int.from_bytes(raw, "big") if raw else None
