from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from app.schemas import InputSchema, Name, Schema, omittable
from app.tokens.models import ExpirationPolicy, RevocationReason, TokenStatus

MAX_MASS_REVOKE = 1000


class Expiration(InputSchema):
    # The schema states the rule below: expires_at with the custom policy, and only then.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "properties": {"expiration_policy": {"const": ExpirationPolicy.CUSTOM.value}},
                "required": ["expiration_policy"],
            },
            "then": {"required": ["expires_at"]},
            "else": {"not": {"required": ["expires_at"]}},
        }
    )

    expiration_policy: ExpirationPolicy
    expires_at: AwareDatetime | SkipJsonSchema[None] = omittable(
        description="Required with the custom policy (and in the future), refused otherwise."
    )

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # E.g. 9999-12-31T23:00:00-05:00 has no UTC form: bad input, not a crash later.
        try:
            return None if value is None else value.astimezone(UTC)
        except OverflowError:
            raise ValueError("expires_at is out of range") from None

    @model_validator(mode="after")
    def _expires_at_only_with_custom(self) -> Expiration:
        if self.expiration_policy == ExpirationPolicy.CUSTOM and self.expires_at is None:
            raise ValueError("expires_at is required with the custom expiration policy")
        if self.expiration_policy != ExpirationPolicy.CUSTOM and self.expires_at is not None:
            raise ValueError("expires_at is only allowed with the custom expiration policy")
        return self


class TokenIssue(Expiration):
    name: Name


class TokenRegenerate(Expiration):
    pass


class TokenOut(Schema):
    id: uuid.UUID
    integration_id: uuid.UUID
    name: str
    hint: str
    expiration_policy: ExpirationPolicy
    expires_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    replaced_by: uuid.UUID | None
    status: TokenStatus


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(
        description="The token's secret. Shown only in this response; store it now."
    )


class MassRevoke(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["token_ids"]}, {"required": ["all"]}]}
    )

    token_ids: (
        Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_MASS_REVOKE)]
        | SkipJsonSchema[None]
    ) = omittable()
    all: Literal[True] | SkipJsonSchema[None] = omittable()

    @model_validator(mode="after")
    def _exactly_one_selector(self) -> MassRevoke:
        if (self.token_ids is None) == (self.all is None):
            raise ValueError('give either "token_ids" (1 to 1000 ids) or "all": true')
        return self


# With "all": true, how many ids each list of the answer names at most (oldest first).
MAX_LISTED_IDS = 1000


class MassRevokeResult(BaseModel):
    revoked: list[uuid.UUID] = Field(
        description="Ids revoked now (with `all`: the oldest 1000; see `revoked_count`)."
    )
    already_inactive: list[uuid.UUID] = Field(
        description="Ids already revoked or expired (with `all`: the oldest 1000)."
    )
    not_found: list[uuid.UUID]
    revoked_count: int = Field(default=0, description="How many tokens were revoked now.")
    already_inactive_count: int = Field(
        default=0, description="How many were already revoked or expired."
    )
    truncated: bool = Field(
        default=False,
        description=(
            "True when a list holds fewer ids than its count; list the rest with "
            "`GET .../tokens?status=revoked` or the audit trail."
        ),
    )


MAX_LEAKED_SECRETS = 1000
MAX_SECRET_LENGTH = 256  # ours are 42 characters; room for what a scanner may report


class LeakReport(InputSchema):
    carries_secrets = True  # it exists to report them; they are digested, never stored
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
