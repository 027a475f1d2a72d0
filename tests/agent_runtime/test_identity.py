"""Every turn has an authenticated caller, and a conversation belongs to the caller who started it.

Real signed tokens (the local identity provider, ES256) and forged ones; an agent service over real
HTTP; and the pseudonymous caller id, with botocore's Stubber standing in for KMS (the test double:
the emulator has no KMS).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import time
import urllib.request

import pytest
from pydantic import SecretStr

from agent_runtime.errors import ApiError
from agent_runtime.identity import Authenticator, IdentityConfigError, Pseudonyms, jwt_principal
from agent_runtime.settings import RuntimeSettings
from kit_config.project import PROJECT_DIR
from local_runtime.identity import LocalIdentity
from tests.agent_runtime.conftest import IDENTITY, AgentProcess, bearer, post, turn
from tests.helpers import stubbed_client


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A token built by hand: what an attacker sends (PyJWT refuses to make these)."""
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(signature)])


def claims(**overrides) -> dict:
    now = int(time.time())
    return {
        "iss": IDENTITY.issuer,
        "aud": IDENTITY.audience,
        "sub": "mallory",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def hs256_with_the_public_key() -> str:
    """The algorithm-confusion attack: HMAC-sign with the verifier's public key as the secret."""
    from cryptography.hazmat.primitives import serialization

    public_pem = IDENTITY.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": IDENTITY.kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims()).encode())}"
    return f"{signing_input}.{b64url(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"


def another_key_same_kid(tmp_path_factory) -> str:
    impostor = LocalIdentity.create(tmp_path_factory.mktemp("impostor"))
    return LocalIdentity(impostor.folder, impostor.private_key, IDENTITY.kid).token("mallory")


BAD_TOKENS = {
    "expired": lambda _: IDENTITY.token("mallory", ttl_seconds=-120),  # beyond the 30 s leeway
    "not yet valid": lambda _: IDENTITY.token("mallory", nbf=int(time.time()) + 600),
    "wrongly signed": another_key_same_kid,
    "wrong audience": lambda _: IDENTITY.token("mallory", aud="another-service"),
    "wrong issuer": lambda _: IDENTITY.token("mallory", iss="https://evil.example/"),
    "alg none": lambda _: unsigned({"alg": "none", "typ": "JWT", "kid": IDENTITY.kid}, claims()),
    "HS256 with the public key": lambda _: hs256_with_the_public_key(),
    "unknown kid": lambda _: LocalIdentity(IDENTITY.folder, IDENTITY.private_key, "other-kid").token("mallory"),
    "no sub": lambda _: __import__("jwt").encode(
        {k: v for k, v in claims().items() if k != "sub"},
        IDENTITY.private_key,
        algorithm="ES256",
        headers={"kid": IDENTITY.kid},
    ),
    "not a JWT": lambda _: "not-a-token",
}


@pytest.fixture(scope="module")
def settings():
    """What `make local` gives the agent: the local provider's issuer, audience, JWKS file and secret."""
    local = IDENTITY.agent_settings()
    return RuntimeSettings(
        endpoint_name="identity-test",
        auth_mode="jwt",
        jwt_issuer=local["AGENT_JWT_ISSUER"],
        jwt_audience=local["AGENT_JWT_AUDIENCE"],
        jwt_algorithms=json.loads(local["AGENT_JWT_ALGORITHMS"]),
        jwks_file=local["AGENT_JWKS_FILE"],
        caller_id_secret=local["AGENT_CALLER_ID_SECRET"],
    )


# --- the verifier ------------------------------------------------------------------------------


def test_a_token_of_the_configured_issuer_is_accepted(settings):
    assert Authenticator(settings).verify(IDENTITY.token("alice"))["sub"] == "alice"


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_refused_with_401(settings, kind, tmp_path_factory):
    token = BAD_TOKENS[kind](tmp_path_factory)
    with pytest.raises(ApiError) as refused:
        Authenticator(settings).verify(token)
    error = refused.value
    assert (error.status, error.code, error.headers()) == (401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
    for secret in {token, token.split(".")[-1]} - {""}:
        assert secret not in error.message


@pytest.mark.parametrize(
    "unset, variable",
    [
        ({"jwt_issuer": None}, "AGENT_JWT_ISSUER"),
        ({"jwt_audience": None}, "AGENT_JWT_AUDIENCE"),
        ({"jwks_file": None}, "AGENT_JWKS"),
        ({"caller_id_secret": None}, "AGENT_CALLER_ID_KMS_KEY"),
    ],
)
def test_jwt_mode_without_its_settings_stops_start_up_naming_the_variable(settings, unset, variable):
    with pytest.raises(IdentityConfigError, match=variable):
        Authenticator(settings.model_copy(update=unset))


@pytest.mark.parametrize(
    "jwks, message",
    [
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "hmac"}]}', "no signing key for"),
        ("not json", "not a JWKS document"),
    ],
)
def test_a_jwks_without_usable_keys_is_a_start_up_error(settings, jwks, message):
    with pytest.raises(IdentityConfigError, match=message):
        Authenticator(settings.model_copy(update={"jwks_file": None, "jwks": jwks}))


def test_the_inline_jwks_the_stacks_pass_verifies_like_the_file(settings):
    inline = settings.model_copy(update={"jwks_file": None, "jwks": json.dumps({"keys": [IDENTITY.public_jwk()]})})
    assert Authenticator(inline).verify(IDENTITY.token("alice"))["sub"] == "alice"


def test_rotation_accepts_tokens_of_the_old_and_the_new_key(settings, tmp_path_factory):
    new = LocalIdentity.create(tmp_path_factory.mktemp("rotated"))
    both = settings.model_copy(
        update={"jwks_file": None, "jwks": json.dumps({"keys": [IDENTITY.public_jwk(), new.public_jwk()]})}
    )
    authenticator = Authenticator(both)
    assert authenticator.verify(IDENTITY.token("alice"))["sub"] == authenticator.verify(new.token("alice"))["sub"]


def test_the_agent_refuses_to_start_with_a_broken_identity_config(agent_env):
    broken = {name: value for name, value in agent_env.items() if name != "AGENT_JWT_AUDIENCE"}
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime", "--port", "1"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **broken},
    )
    assert result.returncode != 0
    assert "AGENT_JWT_AUDIENCE is not set" in result.stderr and "Traceback" not in result.stderr


# --- IAM callers (Lambda behind a Function URL with AuthType AWS_IAM) ------------------------------


def function_url_request(user_arn: str):
    """What Mangum hands the app for a SigV4-signed Function URL call: the event carries the signer."""
    from starlette.requests import Request

    event = {"requestContext": {"authorizer": {"iam": {"userArn": user_arn, "accountId": "111111111111"}}}}
    return Request({"type": "http", "method": "POST", "path": "/invoke", "headers": [], "aws.event": event})


ROLE_RUN_1 = "arn:aws:sts::111111111111:assumed-role/support-cli/botocore-session-1795597200"
ROLE_RUN_2 = "arn:aws:sts::111111111111:assumed-role/support-cli/botocore-session-1795600800"
USER = "arn:aws:iam::111111111111:user/ops/alice"


def iam_caller_id(settings, user_arn: str, iam_caller: str | None = None) -> str:
    import asyncio

    update = {"auth_mode": "iam"} | ({"iam_caller": iam_caller} if iam_caller else {})
    return asyncio.run(
        Authenticator(settings.model_copy(update=update)).authenticate(function_url_request(user_arn))
    ).caller_id


def test_two_sessions_of_one_role_are_one_caller_by_default(settings):
    """botocore names each process's session botocore-session-<time>: a script's second run must still own
    the sessions of its first (with the full ARN they answered 404)."""
    assert RuntimeSettings.model_fields["iam_caller"].default == "role"
    assert iam_caller_id(settings, ROLE_RUN_1) == iam_caller_id(settings, ROLE_RUN_2)
    other_role = ROLE_RUN_1.replace("support-cli", "partner-app")
    assert iam_caller_id(settings, other_role) != iam_caller_id(settings, ROLE_RUN_1)


def test_per_session_callers_when_the_front_end_names_the_session_after_its_user(settings):
    assert iam_caller_id(settings, ROLE_RUN_1, "role_session") != iam_caller_id(settings, ROLE_RUN_2, "role_session")
    # The full ARN, as before this setting existed: sessions stored per role session keep their owner.
    pseudonyms = Pseudonyms(settings)
    assert iam_caller_id(settings, ROLE_RUN_1, "role_session") == pseudonyms.compute(f"iam:{ROLE_RUN_1}")
    assert iam_caller_id(settings, ROLE_RUN_1) == pseudonyms.compute(
        "iam:arn:aws:sts::111111111111:assumed-role/support-cli"
    )


@pytest.mark.parametrize(
    "arn",
    [
        USER,
        "arn:aws:iam::111111111111:root",
        "arn:aws:sts::111111111111:federated-user/bob",
        "arn:aws-cn:iam::111111111111:user/carol",
    ],
)
def test_other_iam_principals_are_their_arn_in_both_settings(settings, arn):
    """IAM users (and root, federated users) have no session name: their caller ids did not change."""
    expected = Pseudonyms(settings).compute(f"iam:{arn}")
    assert iam_caller_id(settings, arn) == iam_caller_id(settings, arn, "role_session") == expected


def test_an_event_without_a_signer_is_refused_in_both_settings(settings):
    from starlette.requests import Request

    unsigned_request = Request({"type": "http", "method": "POST", "path": "/invoke", "headers": []})
    for iam_caller in ("role", "role_session"):
        authenticator = Authenticator(settings.model_copy(update={"auth_mode": "iam", "iam_caller": iam_caller}))
        with pytest.raises(ApiError) as refused:
            authenticator.principal(unsigned_request)
        assert refused.value.status == 401


# --- the pseudonymous caller id ----------------------------------------------------------------


class TestPseudonyms:
    KEY = "arn:aws:kms:us-east-1:111111111111:key/mrk-0123456789abcdef0123456789abcdef"

    @pytest.fixture
    def kms(self):
        with stubbed_client("kms") as stubbed:
            yield stubbed

    def kms_settings(self, settings):
        return settings.model_copy(update={"caller_id_secret": None, "caller_id_kms_key": self.KEY})

    def test_kms_generate_mac_names_the_caller_once_per_principal(self, settings, kms):
        import asyncio

        client, stubber = kms
        mac = bytes(range(32))
        stubber.add_response(
            "generate_mac",
            {"Mac": mac, "KeyId": self.KEY, "MacAlgorithm": "HMAC_SHA_256"},
            {"KeyId": self.KEY, "MacAlgorithm": "HMAC_SHA_256", "Message": b"iam:arn:aws:iam::1:user/a"},
        )
        pseudonyms = Pseudonyms(self.kms_settings(settings), client)
        first = asyncio.run(pseudonyms.caller_id("iam:arn:aws:iam::1:user/a"))
        again = asyncio.run(pseudonyms.caller_id("iam:arn:aws:iam::1:user/a"))  # cached: no second KMS call
        assert first == again == base64.b32encode(mac[:20]).decode().lower() and len(first) == 32

    def test_the_cache_is_bounded(self, settings, kms):
        import asyncio

        client, stubber = kms
        for _ in range(3):  # a, b, then a again after b evicted it
            stubber.add_response("generate_mac", {"Mac": bytes(32), "KeyId": self.KEY, "MacAlgorithm": "HMAC_SHA_256"})
        pseudonyms = Pseudonyms(self.kms_settings(settings), client, size=1)
        for principal in ("a", "b", "a"):
            asyncio.run(pseudonyms.caller_id(principal))

    def test_kms_failing_answers_503_not_a_stack_trace(self, settings, kms):
        import asyncio

        client, stubber = kms
        stubber.add_client_error("generate_mac", "AccessDeniedException", http_status_code=400)
        with pytest.raises(ApiError) as refused:
            asyncio.run(Pseudonyms(self.kms_settings(settings), client).caller_id("a"))
        assert (refused.value.status, refused.value.code) == (503, "IdentityUnavailable")

    def test_the_local_secret_gives_a_stable_id_per_principal_that_does_not_reveal_it(self, settings):
        import asyncio

        pseudonyms = Pseudonyms(settings)
        alice = asyncio.run(pseudonyms.caller_id(jwt_principal(IDENTITY.issuer, "alice")))
        assert alice == Pseudonyms(settings).compute(jwt_principal(IDENTITY.issuer, "alice"))
        assert alice != pseudonyms.compute(jwt_principal(IDENTITY.issuer, "bob")) and "alice" not in alice
        other_key = settings.model_copy(update={"caller_id_secret": SecretStr("another-secret-of-32-characters!!")})
        assert Pseudonyms(other_key).compute(jwt_principal(IDENTITY.issuer, "alice")) != alice  # keyed, not a bare hash


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_the_api_answers_401_json_for_bad_tokens_and_logs_none_of_them(agent, kind, tmp_path_factory):
    token = BAD_TOKENS[kind](tmp_path_factory)
    status, headers, body = post(
        f"{agent.url}/invoke", {"prompt": "let me in"}, caller=None, headers={"Authorization": f"Bearer {token}"}
    )
    assert (status, body["error"]["code"], headers["www-authenticate"]) == (401, "Unauthorized", "Bearer")
    assert token not in json.dumps(body)
    time.sleep(0.2)  # the request's log line is written as the response ends
    log = agent.log.read_text(errors="replace")
    assert '"status":401' in log.replace(" ", "")  # the refusal is logged, without the token
    for secret in {token, token.split(".")[-1]} - {""}:
        assert secret not in log


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
    ids=["missing", "basic", "empty"],
)
@pytest.mark.parametrize("path", ["/invoke", "/invoke/stream"])
def test_the_api_answers_401_without_a_bearer_token(agent, headers, path):
    status, response_headers, body = post(f"{agent.url}{path}", {"prompt": "hi"}, caller=None, headers=headers)
    assert (status, body["error"]["code"], response_headers["www-authenticate"]) == (401, "Unauthorized", "Bearer")


def test_another_caller_gets_404_for_a_session_and_cannot_continue_it(agent):
    status, _, first = turn(agent.url, "[scenario:multi_turn] alice's secret", caller="alice")
    assert status == 200 and first["answer"] == "Turn 1: alice's secret"
    session = first["session_id"]
    stolen = turn(agent.url, "[scenario:multi_turn] what did alice say?", session, caller="bob")
    nobody = turn(agent.url, "[scenario:multi_turn] what did alice say?", "f" * 32, caller="bob")
    assert stolen[0] == nobody[0] == 404 and stolen[2]["error"]["code"] == "SessionNotFound"
    # No existence oracle: the other caller's session and a session that does not exist look the same.
    raw = {}
    for name, session_id in (("stolen", session), ("nobody", "f" * 32)):
        request = urllib.request.Request(
            f"{agent.url}/invoke",
            data=json.dumps({"prompt": "x", "session_id": session_id}).encode(),
            headers={"Content-Type": "application/json", **bearer("bob")},
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=30)
        raw[name] = (
            error.value.code,
            sorted((k.lower(), v) for k, v in error.value.headers.items() if k.lower() != "date"),
            error.value.read(),
        )
    assert raw["stolen"] == raw["nobody"]
    stream = post(f"{agent.url}/invoke/stream", {"prompt": "x", "session_id": session}, caller="bob")
    assert (stream[0], stream[2]["error"]["code"]) == (404, "SessionNotFound")
    # Bob's attempts left alice's history alone, and alice continues her conversation.
    status, _, second = turn(agent.url, "[scenario:multi_turn] alice again", session, caller="alice")
    assert status == 200 and second["answer"] == "Turn 2: alice again" and second["session_id"] == session


def test_a_caller_beyond_its_turns_in_flight_gets_429_on_any_worker_while_others_get_through(agent_env, tmp_path):
    """Two workers sharing the session store, as Fargate tasks share the bucket: the bound is the caller's."""
    env = {name: value for name, value in agent_env.items() if name != "AGENT_MLFLOW_TRACKING_URI"}  # untraced: quicker
    env["AGENT_MAX_TURNS_PER_CALLER"] = "1"
    workers = [AgentProcess(env, tmp_path / f"worker-{n}.log").start() for n in range(2)]
    try:
        started = turn(workers[0].url, "[scenario:multi_turn] one", caller="carol")[2]["session_id"]
        connection = http.client.HTTPConnection("127.0.0.1", workers[0].port, timeout=30)
        # ~6 s of tokens (one per 50 ms): outlasts the three checks below even on a loaded machine
        connection.request(
            "POST",
            "/invoke/stream",
            headers={"Content-Type": "application/json", **bearer("carol")},
            body=json.dumps({"prompt": "[scenario:slow_tokens] " + "word " * 120}),
        )
        response = connection.getresponse()
        assert response.status == 200 and b"event: token" in response.read1(4096)  # it holds carol's only slot now
        status, headers, body = turn(workers[1].url, "[scenario:multi_turn] two", started, caller="carol")
        assert (status, body["error"]["code"], headers["retry-after"]) == (429, "TooManyTurns", "2"), body
        stream = post(f"{workers[1].url}/invoke/stream", {"prompt": "hi"}, caller="carol")
        assert (stream[0], stream[2]["error"]["code"]) == (429, "TooManyTurns")
        assert turn(workers[1].url, "meanwhile", caller="dave")[0] == 200  # another caller is not held up
        assert b"event: final" in response.read()
        connection.close()
        # The refused turn never touched carol's history: the retry is the session's second turn.
        assert turn(workers[1].url, "[scenario:multi_turn] two", started, caller="carol")[2]["answer"] == "Turn 2: two"
    finally:
        for worker in workers:
            worker.stop()
