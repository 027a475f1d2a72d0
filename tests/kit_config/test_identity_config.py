"""`agent.identity`: the Fargate agent's JWT verification (issuer, audience, algorithms, JWKS) and the
per-caller limit; a Lambda agent's callers are the Function URL's IAM principals, so it takes no jwt."""

from __future__ import annotations

import base64
import json
import typing
from functools import partial
from pathlib import Path

import pytest

from agent_runtime.settings import RuntimeSettings
from kit_config import load_environment
from kit_config.identity_schema import MAX_TURNS_PER_CALLER
from kit_config.jwks import MAX_JWKS_BYTES
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="agent")
JWKS = "jwks/example-idp.json"


def b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def edit_jwks(directory: Path, change) -> None:
    path = directory / JWKS
    document = json.loads(path.read_text())
    change(document["keys"])
    path.write_text(json.dumps(document))


def rsa_key(bits: int = 2048, **members) -> dict:
    return {"kty": "RSA", "kid": f"rsa-{bits}", "n": b64((1 << (bits - 1)) | 1), "e": "AQAB", **members}


def jwt(change):
    return lambda agent: change(agent["identity"]["jwt"])


def test_shipped_fargate_envs_verify_tokens_with_the_example_public_keys():
    for env in ("staging", "prod"):
        verification = load_environment(env).agent.identity.jwt
        assert verification.issuer == f"https://idp.example.com/oauth2/{env}"
        assert verification.algorithms == ["RS256", "ES256"]
        keys = json.loads(verification.jwks)["keys"]
        assert [(k["kid"], k["kty"]) for k in keys] == [("example-rsa-1", "RSA"), ("example-ec-1", "EC")]
        assert all(not set(k) & {"d", "p", "q", "dp", "dq", "qi", "k"} for k in keys)
        assert " " not in verification.jwks  # compact: what AGENT_JWKS carries
    assert load_environment("dev").agent.identity.max_turns_per_caller == 4


JWKS_PROBLEMS = {
    "private RSA key committed": (
        lambda keys: keys[0].update(d="AQAB", p="AQAB", q="AQAB"),
        "keys[0] (kid 'example-rsa-1'): holds private key members d, p, q",
    ),
    "symmetric key committed": (
        lambda keys: keys.append({"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}),
        "keys[2] (kid 'shared'): holds private key members k",
    ),
    "RSA 1024": (
        lambda keys: keys.append(rsa_key(1024)),
        "keys[2] (kid 'rsa-1024'): RSA modulus is 1024 bits; at least 2048",
    ),
    "missing kid": (lambda keys: keys[1].pop("kid"), "keys[1]: has no kid"),
    "duplicate kid": (
        lambda keys: keys[1].update(kid="example-rsa-1"),
        "keys[1]: kid 'example-rsa-1' is also keys[0]'s",
    ),
    "encryption key": (
        lambda keys: keys[0].update(use="enc"),
        "keys[0] (kid 'example-rsa-1'): use is 'enc'; a verification key has use 'sig'",
    ),
    "P-384 curve": (
        lambda keys: keys[1].update(crv="P-384"),
        "keys[1] (kid 'example-ec-1'): crv 'P-384' is not allowed",
    ),
    "short EC coordinate": (
        lambda keys: keys[1].update(x="AQAB"),
        "keys[1] (kid 'example-ec-1'): a P-256 key needs x as 32 base64url bytes",
    ),
    "RSA without modulus": (lambda keys: keys[0].pop("n"), "keys[0] (kid 'example-rsa-1'): an RSA key needs n and e"),
    "alg not allowed": (
        lambda keys: keys[0].update(alg="RS512"),
        "keys[0] (kid 'example-rsa-1'): alg 'RS512' is not in algorithms (ES256, RS256)",
    ),
    "unknown key type": (
        lambda keys: keys.append({"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AQAB"}),
        "keys[2] (kid 'ed'): kty 'OKP' is not allowed",
    ),
    "no keys": (lambda keys: keys.clear(), "not a JWKS"),
}


@pytest.mark.parametrize("change, words", JWKS_PROBLEMS.values(), ids=JWKS_PROBLEMS.keys())
def test_a_broken_jwks_names_the_file_the_key_and_the_field(config_dir, change, words):
    edit_jwks(config_dir, change)
    assert_rejected(config_dir, "staging", "agent.identity.jwt.jwks_file", f"{JWKS}: {words}")


def test_each_key_must_verify_an_allowed_algorithm(config_dir):
    """An RSA key without `alg` is useless (and a confusing configuration) when only ES256 is allowed."""
    edit_jwks(config_dir, lambda keys: keys[0].pop("alg"))
    edit(config_dir, "staging", jwt(lambda j: j.update(algorithms=["ES256"])))
    assert_rejected(
        config_dir,
        "staging",
        "agent.identity.jwt.jwks_file",
        "keys[0] (kid 'example-rsa-1'): a RSA key verifies only RS256, which algorithms does not allow (ES256)",
    )


def test_a_jwks_that_would_not_fit_the_task_definition(config_dir):
    edit_jwks(config_dir, lambda keys: keys.extend(rsa_key(4096, kid=f"retired-{i}") for i in range(50)))
    assert_rejected(
        config_dir, "staging", "agent.identity.jwt.jwks_file", f"at most {MAX_JWKS_BYTES} fit the task definition"
    )


def test_the_jwks_file_is_relative_to_the_config_file(config_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the config directory: the path resolves against the file, not the cwd
    assert json.loads(load_environment("prod", config_dir).agent.identity.jwt.jwks)["keys"][0]["kid"] == "example-rsa-1"
    edit(config_dir, "prod", jwt(lambda j: j.update(jwks_file="jwks/missing.json")))
    assert_rejected(config_dir, "prod", "agent.identity.jwt.jwks_file", "jwks/missing.json: cannot be read")


def test_a_jwks_that_is_not_json(config_dir):
    (config_dir / JWKS).write_text("-----BEGIN PUBLIC KEY-----\n")
    assert_rejected(config_dir, "staging", "agent.identity.jwt.jwks_file", "not valid JSON")


BAD = {
    "HS256": (
        "staging",
        jwt(lambda j: j.update(algorithms=["RS256", "HS256"])),
        "agent.identity.jwt.algorithms",
        "'HS256' not allowed: only RS256 and ES256",
    ),
    "none": (
        "prod",
        jwt(lambda j: j.update(algorithms=["none"])),
        "agent.identity.jwt.algorithms",
        "'none' not allowed",
    ),
    "no algorithms": (
        "prod",
        jwt(lambda j: j.update(algorithms=[])),
        "agent.identity.jwt.algorithms",
        "at least 1 item",
    ),
    "algorithm twice": (
        "prod",
        jwt(lambda j: j.update(algorithms=["RS256", "RS256"])),
        "agent.identity.jwt.algorithms",
        "twice",
    ),
    "http issuer": (
        "staging",
        jwt(lambda j: j.update(issuer="http://idp.example.com/oauth2/staging")),
        "agent.identity.jwt.issuer",
        "is not an issuer URL: use https://",
    ),
    "issuer with query": (
        "prod",
        jwt(lambda j: j.update(issuer="https://idp.example.com/?tenant=1")),
        "agent.identity.jwt.issuer",
        "without query or fragment",
    ),
    "empty audience": (
        "prod",
        jwt(lambda j: j.update(audience="")),
        "agent.identity.jwt.audience",
        "at least 1 character",
    ),
    "leeway too long": (
        "prod",
        jwt(lambda j: j.update(leeway_seconds=600)),
        "agent.identity.jwt.leeway_seconds",
        "less than or equal to 300",
    ),
    "fargate without jwt": (
        "staging",
        lambda a: a["identity"].pop("jwt"),
        "agent.identity.jwt",
        "required key is missing",
    ),
    "fargate without identity": ("prod", lambda a: a.pop("identity"), "agent.identity", "required key is missing"),
    "jwt on lambda": (
        "dev",
        lambda a: a["identity"].update(jwt={"issuer": "https://idp.example.com"}),
        "agent.identity.jwt",
        "compute: lambda authenticates callers with the Function URL's AWS_IAM auth",
    ),
    "no turns per caller": (
        "dev",
        lambda a: a["identity"].update(max_turns_per_caller=0),
        "agent.identity.max_turns_per_caller",
        "greater than or equal to 1",
    ),
    "turns beyond the settings' bound": (
        "dev",
        lambda a: a["identity"].update(max_turns_per_caller=2000),
        "agent.identity.max_turns_per_caller",
        f"less than or equal to {MAX_TURNS_PER_CALLER}",
    ),
    "iam caller neither role nor role session": (
        "dev",
        lambda a: a["identity"].update(iam_caller="session"),
        "agent.identity.iam_caller",
        "'role' or 'role_session'",
    ),
    "iam caller on fargate (bearer tokens name the caller)": (
        "staging",
        lambda a: a["identity"].update(iam_caller="role"),
        "agent.identity.iam_caller",
        "unknown key",
    ),
    "one caller fills a task": (
        "staging",
        lambda a: a["identity"].update(max_turns_per_caller=32),
        "agent.identity.max_turns_per_caller",
        "would let one caller fill a task's 32 sessions",
    ),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_bad_identity_settings_name_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_the_algorithms_are_those_the_runtime_accepts():
    # The turn limit's and the leeway's bounds are the runtime's own (tests/kit_config/test_runtime_fields.py).
    assert typing.get_args(RuntimeSettings.model_fields["jwt_algorithms"].annotation) == (
        typing.Literal["RS256", "ES256"],
    )


KEY_ARN = "arn:aws:kms:us-west-2:333333333333:key/11111111-2222-3333-4444-555555555555"


def identity_variables(env: str, **where) -> dict:
    from kit_config.runtime_environment import runtime_environment

    environment = runtime_environment(load_environment(env), mlflow_tracking_uri=None, **where)
    return {
        k: v
        for k, v in environment.items()
        if k.startswith(("AGENT_AUTH", "AGENT_IAM", "AGENT_JWT", "AGENT_JWKS", "AGENT_CALLER_ID", "AGENT_MAX_TURNS"))
    }


def test_deployed_fargate_verifies_jwts_with_the_jwks_inline(monkeypatch):
    variables = identity_variables("prod", session_bucket="sessions", caller_id_kms_key=KEY_ARN)
    jwks = load_environment("prod").agent.identity.jwt.jwks
    assert variables == {
        "AGENT_AUTH_MODE": "jwt",
        "AGENT_JWT_ISSUER": "https://idp.example.com/oauth2/prod",
        "AGENT_JWT_AUDIENCE": "governed-agents-prod",
        "AGENT_JWT_ALGORITHMS": '["RS256", "ES256"]',
        "AGENT_JWT_LEEWAY_SECONDS": "30",
        "AGENT_JWKS": jwks,
        "AGENT_MAX_TURNS_PER_CALLER": "4",
        "AGENT_CALLER_ID_KMS_KEY": KEY_ARN,
    }
    for name, value in {**variables, "AGENT_ENDPOINT_NAME": "e"}.items():  # as the task's environment delivers them
        monkeypatch.setenv(name, value)
    settings = RuntimeSettings()
    assert settings.jwt_algorithms == ["RS256", "ES256"] and json.loads(settings.jwks) == json.loads(jwks)


def test_deployed_lambda_uses_the_iam_principal_and_no_jwks():
    variables = identity_variables("dev", session_bucket="sessions", caller_id_kms_key=KEY_ARN)
    assert variables == {
        "AGENT_AUTH_MODE": "iam",
        "AGENT_IAM_CALLER": "role",
        "AGENT_MAX_TURNS_PER_CALLER": "4",
        "AGENT_CALLER_ID_KMS_KEY": KEY_ARN,
    }


def test_an_iam_caller_is_its_role_unless_config_says_per_session(config_dir, monkeypatch):
    """Default `role`: a script's SDK names each run's role session anew (botocore-session-<time>), and a new
    identity per run would orphan its sessions. `role_session` is for a front end that names sessions per user."""
    from kit_config.runtime_environment import runtime_environment

    assert load_environment("dev").agent.identity.iam_caller == "role"
    edit(config_dir, "dev", lambda a: a["identity"].update(iam_caller="role_session"))
    variables = runtime_environment(
        load_environment("dev", config_dir), mlflow_tracking_uri=None, session_bucket="s", caller_id_kms_key=KEY_ARN
    )
    assert variables["AGENT_IAM_CALLER"] == "role_session"
    for name, value in {**variables, "AGENT_ENDPOINT_NAME": "e"}.items():  # as the function's environment delivers them
        monkeypatch.setenv(name, value)
    assert RuntimeSettings().iam_caller == "role_session"


def test_locally_only_the_limit_comes_from_config():
    """make local brings its own identity (a generated key pair, a local pseudonym secret)."""
    for env in ("dev", "prod"):
        assert identity_variables(env, session_dir="/tmp/sessions") == {"AGENT_MAX_TURNS_PER_CALLER": "4"}


def test_a_deployment_without_the_caller_id_key_is_refused():
    with pytest.raises(ValueError, match="needs the caller-id HMAC key"):
        identity_variables("dev", session_bucket="sessions")


def test_a_jwks_member_given_twice_is_refused(config_dir):
    """json.loads (and so the runtime's PyJWT) keeps the last `n`: the key reviewed would not be the key used."""
    path = config_dir / JWKS
    text = path.read_text()
    first_n = text.index('"n"')
    path.write_text(text[:first_n] + '"n": "AQAB", ' + text[first_n:])
    assert_rejected(
        config_dir, "staging", "agent.identity.jwt.jwks_file", f"{JWKS}: member 'n' given twice in one object"
    )
