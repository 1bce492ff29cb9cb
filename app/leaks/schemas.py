from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.schemas import InputSchema

MAX_LEAKED_SECRETS = 1000
MAX_SECRET_LENGTH = 256  # ours are 42 characters; room for what a scanner may report


class LeakReport(InputSchema):
    secrets: list[Annotated[str, StringConstraints(max_length=MAX_SECRET_LENGTH)]] = Field(
        min_length=1,
        max_length=MAX_LEAKED_SECRETS,
        description=(
            "Raw secrets as found (for example by a secret scanner), 1 to 1000. "
            "Anything that is not one of this service's access tokens counts as unknown."
        ),
    )


class LeakResult(BaseModel):
    """Counts only: the answer never says which integration a secret belonged to."""

    revoked: int = Field(description="Active tokens of ours, now revoked (reason `leaked`).")
    already_inactive: int = Field(
        description="Tokens of ours that were already revoked or expired; left unchanged."
    )
    unknown: int = Field(description="Secrets that are not ours, or not a token at all.")
