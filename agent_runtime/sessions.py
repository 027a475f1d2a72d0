"""Conversation state per session id, and a lock so two requests never interleave on one session.

Storage is Strands' own session managers: S3 (objects encrypted by the bucket's KMS key) when
`AGENT_SESSION_BUCKET` is set, a local directory otherwise. The lock must hold across processes
(Lambda runs concurrent requests in separate environments), so it lives next to the state: an S3
object created with a conditional write (`If-None-Match: *`), or an `flock` on a local file. A
busy session answers 409; a lock older than the request timeout is considered abandoned.

One S3 client per process serves the lock and the session manager of every request. Building a
client costs ~8 ms of CPU, and the `boto3.Session` that Strands' S3SessionManager creates for
itself when given none ~180 ms more (measured here; a new session also resolves credentials again),
which was paid on every request. A client may be shared by threads, a session may not ("Multithreading
or multiprocessing with clients", https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from agent_runtime.errors import ApiError
from agent_runtime.settings import RuntimeSettings

SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$")


def validate_session_id(session_id: str) -> str:
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise ApiError(400, "InvalidSessionId", "session_id must be 8-128 letters, digits, '-' or '_'.")
    return session_id


@functools.lru_cache(maxsize=None)
def s3_client(region: str):
    """The process's S3 client (built on first use), configured as S3SessionManager builds its own."""
    import boto3
    from botocore.config import Config

    return boto3.Session(region_name=region).client("s3", config=Config(user_agent_extra="strands-agents"))


class _SharedClient:
    """Passed as S3SessionManager's `boto_session`: hands it the process's client instead of a new one."""

    def __init__(self, client) -> None:
        self._client = client

    def client(self, service_name: str, **_) -> object:
        if service_name != "s3":
            raise ValueError(f"only the S3 client is shared, not {service_name!r}")
        return self._client


def session_manager(settings: RuntimeSettings, session_id: str):
    if settings.session_bucket:
        from strands.session.s3_session_manager import S3SessionManager

        return S3SessionManager(
            session_id=session_id, bucket=settings.session_bucket, prefix=settings.session_prefix,
            boto_session=_SharedClient(s3_client(settings.region)),
        )
    from strands.session.file_session_manager import FileSessionManager

    settings.session_dir.mkdir(parents=True, exist_ok=True)
    return FileSessionManager(session_id=session_id, storage_dir=str(settings.session_dir))


@contextlib.contextmanager
def session_lock(settings: RuntimeSettings, session_id: str) -> Iterator[None]:
    if settings.session_bucket:
        with _s3_lock(settings, session_id):
            yield
    else:
        with _file_lock(settings.session_dir / f"{session_id}.lock"):
            yield


def _busy() -> ApiError:
    return ApiError(409, "SessionBusy", "This session is already answering another request; retry when it is done.", 1)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy() from None
        yield
    finally:
        os.close(descriptor)  # closing releases the flock


@contextlib.contextmanager
def _s3_lock(settings: RuntimeSettings, session_id: str, client=None) -> Iterator[None]:
    from botocore.exceptions import ClientError

    client = client or s3_client(settings.region)
    key = f"{settings.session_prefix}{session_id}/.lock"
    body = json.dumps({"acquired_at": time.time()})
    for attempt in range(2):
        try:
            client.put_object(Bucket=settings.session_bucket, Key=key, Body=body.encode(), IfNoneMatch="*")
            break
        except ClientError as error:
            if error.response["Error"]["Code"] not in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise  # e.g. AccessDenied: a real fault, not a busy session
            if attempt:
                raise _busy() from None
            held = json.loads(client.get_object(Bucket=settings.session_bucket, Key=key)["Body"].read())
            if time.time() - held.get("acquired_at", 0) < settings.request_timeout_seconds * 2:
                raise _busy() from None
            client.delete_object(Bucket=settings.session_bucket, Key=key)  # abandoned by a crashed request
    try:
        yield
    finally:
        client.delete_object(Bucket=settings.session_bucket, Key=key)
