"""The services' errors: each knows its HTTP status and title, nothing of FastAPI.

``app.exception_handlers`` renders them as problem+json (RFC 9457). Introspection does
not use them: it keeps the OAuth error format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    """A refusal the caller can act on.

    ``keep_changes``: the request's transaction commits all the same, for a refusal that
    must leave a record (the audit event of a failed login); by default it rolls back.
    """

    status: int = 400
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.keep_changes = keep_changes

    @property
    def type(self) -> str:
        return "about:blank" if self.status == 500 else f"/problems/{self.slug}"

    @property
    def slug(self) -> str:
        return self.title.lower().replace(" ", "-")

    @property
    def errors(self) -> list[dict[str, object]] | None:
        """Field errors, for a problem's ``errors`` member (validation failures only)."""
        return None


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class InvalidInput(ServiceError):
    """A well-formed request whose values break a rule (reported like a validation error)."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, *, loc: Sequence[str | int]) -> None:
        super().__init__(detail)
        self.loc = list(loc)

    @property
    def errors(self) -> list[dict[str, object]]:
        return [{"loc": self.loc, "msg": self.detail}]


class Unauthorized(ServiceError):
    status = 401
    title = "Not authenticated"

    def __init__(
        self, detail: str = "Valid credentials are required.", *, keep_changes: bool = False
    ) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, keep_changes=keep_changes)


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"


class TooManyRequests(ServiceError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, keep_changes: bool = False) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, keep_changes=keep_changes
        )
