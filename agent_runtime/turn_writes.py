"""A turn's conversation writes are held until the turn has answered: a session gains whole turns only.

Strands' session managers store each message the moment the agent appends it (`MessageAddedEvent`,
strands/session/session_manager.py), so a turn that fails after the prompt was appended (the model
throttled, timed out, broke its stream or reported a failure mid-stream, the client went away) left
the prompt in the session without an answer, or with the part of one the model wrote before failing.
The next turn then sent the model two user messages in a row and the caller's retry repeated the
prompt. Here the writes the session manager makes during a turn (messages created or redacted, the
agent's state) wait in order and reach storage when the turn has answered (`commit`); a turn that
fails drops them and the session stays as it was before the turn. Reads, and the session and agent
records a new session's manager creates when it is built, go through at once.

Both of Strands' repository-backed managers (`FileSessionManager`, `S3SessionManager`) write only
through `self.session_repository` (strands/session/repository_session_manager.py), which is
what `hold` replaces.
"""

from __future__ import annotations

from typing import Any

HELD = ("create_message", "update_message", "update_agent")  # what a turn writes


class TurnWrites:
    """The session repository of one turn's session manager, holding the turn's writes."""

    def __init__(self, repository) -> None:
        self._repository = repository
        self._held: list[tuple[str, tuple, dict]] = []

    @classmethod
    def hold(cls, manager) -> TurnWrites:
        """Hold `manager`'s writes from now on (build it first: its constructor creates a new session)."""
        writes = cls(manager.session_repository)
        manager.session_repository = writes
        return writes

    def __getattr__(self, name: str) -> Any:
        if name in HELD:
            return lambda *args, **kwargs: self._held.append((name, args, kwargs))
        return getattr(self._repository, name)

    @property
    def pending(self) -> int:
        return len(self._held)

    def commit(self) -> None:
        """Store the turn's writes, in the order the agent made them (blocking: S3 on AWS)."""
        held, self._held = self._held, []
        for name, args, kwargs in held:
            getattr(self._repository, name)(*args, **kwargs)
