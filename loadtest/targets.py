"""The two things a load test drives, each timing one streamed request into a RequestResult.

- EndpointTarget: the SageMaker endpoint through boto3 `invoke_endpoint_with_response_stream`,
  with the OpenAI chat body the agent's SageMakerAIModel sends (`"stream": true`, and
  `stream_options.include_usage`: without it vLLM sends no usage chunk and the token counts would
  be guessed from chunks). The endpoint's container (LMI, vLLM async mode) streams bare JSON lines
  (`application/jsonlines`: no `data: ` prefix, no `[DONE]`); SSE is read too. PayloadPart bytes
  need not align with lines, so a line buffer reassembles them. A line `{"error": {...}}` (vLLM's
  report of a failure after the stream started, still HTTP 200) makes the request an error.
- AgentTarget: the agent API, `POST {url}/invoke/stream`: SSE `token` events, then `final` (with
  `usage`) or `error` (with `status`).

Throttles are counted apart from errors: boto3 ThrottlingException, ModelError whose
OriginalStatusCode is 429 (the container itself refused), and the agent's HTTP 429/503.
Neither client retries: a retry would hide the throttle being measured.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from loadtest.records import ERROR, OK, THROTTLED, RequestResult

# Sent with every endpoint request (the agent target sends the agent's own system prompt).
ENDPOINT_SYSTEM_PROMPT = "You are a helpful IT support assistant. Answer briefly and concretely."
AGENT_THROTTLE_STATUSES = {429, 503}


class SseJsonLines:
    """Reassembles JSON lines (LMI's framing) or SSE `data:` lines from arbitrary byte parts.

    Each complete line is decoded on its own: a line that is not JSON is counted and skipped, and
    never holds up the lines after it."""

    def __init__(self) -> None:
        self._buffer = b""
        self.malformed = 0  # data lines that were not JSON (skipped, as Strands does)

    def feed(self, data: bytes) -> list[dict]:
        self._buffer += data
        events = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            event = self._decode(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[dict]:
        """The last line, if the stream ended without a newline."""
        line, self._buffer = self._buffer, b""
        event = self._decode(line)
        return [event] if event is not None else []

    def _decode(self, line: bytes) -> dict | None:
        line = line.strip()
        if line.startswith(b"data:"):
            line = line[len(b"data:") :].strip()
        elif line.startswith((b"event:", b"id:", b"retry:")):
            return None
        if not line or line.startswith(b":") or line == b"[DONE]":
            return None
        try:
            event = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            self.malformed += 1
            return None
        return event if isinstance(event, dict) else None


class SseEvents:
    """Named SSE events (`event:` + `data:` lines, blank-line terminated) from arbitrary byte parts."""

    def __init__(self) -> None:
        self._buffer = b""
        self._name: str | None = None
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[tuple[str, dict]]:
        self._buffer += data
        events = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            line = raw.decode("utf-8").rstrip("\r")
            if line.startswith("event:"):
                self._name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                self._data.append(line[len("data:") :].strip())
            elif not line and self._data:
                try:
                    payload = json.loads("\n".join(self._data))
                except ValueError:
                    payload = {"raw": "\n".join(self._data)}
                events.append((self._name or "message", payload if isinstance(payload, dict) else {"value": payload}))
                self._name, self._data = None, []
        return events


@dataclass
class Reply:
    """A request's measurement plus the assistant text, which the next turn sends as history."""

    result: RequestResult
    text: str = ""


def _elapsed(since: float) -> float:
    return time.perf_counter() - since


@dataclass
class EndpointTarget:
    endpoint_name: str
    region: str
    max_tokens: int
    temperature: float = 0.2
    top_p: float = 0.9
    variant: str | None = None
    inference_component: str | None = None  # InferenceComponentName: pins an endpoint of inference components
    custom_attributes: str | None = None
    endpoint_url: str | None = None  # the local emulator; None on AWS
    local_credentials: bool = False  # the emulator takes any key; never look up real ones locally
    timeout_s: float = 120.0
    concurrency: int = 1
    _client: object = field(default=None, init=False, repr=False)

    kind = "endpoint"

    def warm(self) -> None:
        """Make the boto3 client before the first timed request (it takes ~0.1-0.5 s)."""
        self.client()

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                read_timeout=self.timeout_s,
                connect_timeout=5,
                max_pool_connections=max(10, self.concurrency),
            )
            credentials = (
                {"aws_access_key_id": "local", "aws_secret_access_key": "local"} if self.local_credentials else {}
            )
            self._client = boto3.client(
                "sagemaker-runtime",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=config,
                **credentials,
            )
        return self._client

    def body(self, history: list[dict], prompt: str) -> dict:
        """The OpenAI chat body of the agent's SageMakerAIModel: user content as a list of text parts,
        and the same request for the usage chunk."""
        from agent_runtime.model import stream_usage

        messages = [
            {"role": "system", "content": ENDPOINT_SYSTEM_PROMPT},
            *history,
            {"role": "user", "content": [{"text": prompt, "type": "text"}]},
        ]
        return {
            "messages": messages,
            "max_tokens": self.max_tokens,
            "stream": True,
            "temperature": self.temperature,
            "top_p": self.top_p,
            **stream_usage(),
        }

    def send(self, history: list[dict], prompt: str, session_id: str) -> Reply:
        from botocore.exceptions import BotoCoreError, ClientError

        request = {
            "EndpointName": self.endpoint_name,
            "Body": json.dumps(self.body(history, prompt)),
            "ContentType": "application/json",
            "Accept": "application/json",
        }
        if self.variant:
            request["TargetVariant"] = self.variant
        if self.inference_component:
            request["InferenceComponentName"] = self.inference_component
        if self.custom_attributes:
            request["CustomAttributes"] = self.custom_attributes
        result, pieces, usage, failure = RequestResult(), [], None, None
        lines = SseJsonLines()
        client = self.client()
        started = time.perf_counter()

        def clock() -> float:
            return _elapsed(started)

        try:
            response = client.invoke_endpoint_with_response_stream(**request)
            for event in response["Body"]:
                part = event.get("PayloadPart")
                if not part:
                    continue
                for chunk in lines.feed(part["Bytes"]):
                    usage = self._take(chunk, result, pieces, clock) or usage
                    failure = failure or stream_failure(chunk)
            for chunk in lines.close():
                usage = self._take(chunk, result, pieces, clock) or usage
                failure = failure or stream_failure(chunk)
        except ClientError as error:  # EventStreamError (ModelStreamError mid-stream) is one too
            result.e2e_s = _elapsed(started)
            result.status, result.error = classify_client_error(error)
            return Reply(result)
        except (BotoCoreError, OSError) as error:
            result.e2e_s = _elapsed(started)
            result.status, result.error = ERROR, f"{type(error).__name__}: {error}"[:300]
            return Reply(result)
        result.e2e_s = _elapsed(started)
        result.output_tokens = int((usage or {}).get("completion_tokens") or len(result.chunk_times_s))
        result.input_tokens = (usage or {}).get("prompt_tokens")
        if failure:
            result.status, result.error = ERROR, failure
        elif not result.chunk_times_s:
            result.status, result.error = ERROR, "EmptyAnswer: the stream carried no content"
        return Reply(result, "".join(pieces))

    @staticmethod
    def _take(chunk: dict, result: RequestResult, pieces: list[str], clock: Callable[[], float]) -> dict | None:
        """Record one chat.completion.chunk; return its usage if it carries one. Only a chunk with content
        (text or a tool call) times a token: the role-only first chunk (`"content": ""`) and the usage
        chunk do not, as AIPerf counts only content responses (TTFT to the first non-empty one)."""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content") or delta.get("tool_calls"):
                now = clock()  # seconds since the request was sent
                if result.ttft_s is None:
                    result.ttft_s = now
                result.chunk_times_s.append(now)
                pieces.append(delta.get("content") or "")
        return chunk.get("usage")


def stream_failure(chunk: dict) -> str | None:
    """The description of an error reported inside a 200 stream, or None. vLLM's streamed error is
    `{"error": {"message", "type", "param", "code"}}` (LMI passes it on as a line); LMI's own, when
    its output formatter fails mid-stream, is `{"code": 424, "error": "..."}`.
    Sources: vLLM vllm/entrypoints/openai/chat_completion/serving.py (`chat_completion_stream_generator`),
    djl-serving engines/python/setup/djl_python/async_utils.py (`handle_streaming_response`) and
    engines/python/src/main/java/ai/djl/python/engine/Request.java."""
    if chunk.get("choices") or "error" not in chunk:
        return None
    error = chunk["error"]
    if isinstance(error, dict):
        return f"StreamError: {error.get('code')}: {error.get('message')}"[:300]
    return f"StreamError: {chunk.get('code')}: {error}"[:300]


def classify_client_error(error) -> tuple[str, str]:
    """(status, short description) of a botocore ClientError: throttled or error."""
    response = getattr(error, "response", None) or {}
    code = (response.get("Error") or {}).get("Code", "")
    original = response.get("OriginalStatusCode")
    described = f"{code}: {(response.get('Error') or {}).get('Message', '')}"[:300]
    if code in {"ThrottlingException", "TooManyRequestsException"} or (code == "ModelError" and original == 429):
        return THROTTLED, described
    return ERROR, described


@dataclass
class AgentTarget:
    url: str
    timeout_s: float = 240.0
    signer: object = (
        None  # callable(urllib Request) -> None adding credentials: SigV4 (IAM-authenticated URLs) or a bearer token
    )
    loopback: bool = True  # local: never through a proxy
    # The run's conversation key -> the session id the agent issued on its first turn (ids are the server's).
    sessions: dict[str, str] = field(default_factory=dict)

    kind = "agent"

    def warm(self) -> None:
        """Nothing to prepare: each request opens its own connection."""

    def _opener(self):
        handlers = [urllib.request.ProxyHandler({})] if self.loopback else []
        return urllib.request.build_opener(*handlers)

    def send(self, history: list[dict], prompt: str, session_id: str) -> Reply:
        # The agent keeps the history itself, by the session id it issued; `history` is only the endpoint's concern.
        issued = self.sessions.get(session_id)
        body = json.dumps({"prompt": prompt, **({"session_id": issued} if issued else {})}).encode()
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}/invoke/stream",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        if self.signer:
            self.signer(request)
        result, pieces, parser = RequestResult(session_id=session_id), [], SseEvents()
        started = time.perf_counter()
        try:
            with self._opener().open(request, timeout=self.timeout_s) as response:
                final = None
                while chunk := response.read1(65536):
                    for name, data in parser.feed(chunk):
                        if name == "token" and data.get("text"):  # an empty token is no token (AIPerf's TTFT)
                            now = _elapsed(started)
                            if result.ttft_s is None:
                                result.ttft_s = now
                            result.chunk_times_s.append(now)
                            pieces.append(data.get("text", ""))
                        elif name in ("final", "error"):
                            final = (name, data)
        except urllib.error.HTTPError as error:
            result.e2e_s = _elapsed(started)
            detail = _error_text(error.read())
            result.status = THROTTLED if error.code in AGENT_THROTTLE_STATUSES else ERROR
            result.error = f"HTTP {error.code}: {detail}"[:300]
            return Reply(result)
        except OSError as error:  # URLError, timeouts, resets
            result.e2e_s = _elapsed(started)
            result.status, result.error = ERROR, f"{type(error).__name__}: {error}"[:300]
            return Reply(result)
        result.e2e_s = _elapsed(started)
        if final is None:
            result.status, result.error = ERROR, "StreamEnded: no final or error event"
        elif final[0] == "error":
            status = final[1].get("status")
            result.status = THROTTLED if status in AGENT_THROTTLE_STATUSES else ERROR
            result.error = f"HTTP {status} (in stream): {_error_text(json.dumps(final[1]).encode())}"[:300]
        else:
            usage = final[1].get("usage") or {}
            result.output_tokens = int(usage.get("output_tokens") or len(result.chunk_times_s))
            result.input_tokens = usage.get("input_tokens")
            result.model_calls, result.tool_calls = usage.get("model_calls"), usage.get("tool_calls")
            result.server_estimated_cost_usd = usage.get("estimated_cost_usd")
            result.status = OK
            if final[1].get("session_id"):
                self.sessions[session_id] = final[1]["session_id"]
        return Reply(result, "".join(pieces))


def _error_text(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error") or {}
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return raw.decode("utf-8", "replace")[:200]


def bearer_signer(token: str):
    """Sends a bearer JWT (an agent verifying tokens: Fargate with your IdP's, or `make local`'s own)."""

    def sign(request: urllib.request.Request) -> None:
        request.add_header("Authorization", f"Bearer {token}")

    return sign


def sigv4_signer(region: str, service: str = "lambda"):
    """Signs agent requests for an IAM-authenticated Lambda Function URL with the caller's credentials."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()

    def sign(request: urllib.request.Request) -> None:
        signed = AWSRequest(
            method=request.get_method(), url=request.full_url, data=request.data, headers=dict(request.header_items())
        )
        SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(signed)
        for name, value in signed.headers.items():
            request.add_header(name, value)

    return sign
