from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from app.auth.models import Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MeOut(BaseModel):
    username: str
    role: Role
