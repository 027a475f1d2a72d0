"""Field types more than one config section uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
