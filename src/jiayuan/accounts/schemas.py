"""Shapes of accounts in the API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


PASSWORD_RULE = ("at least 10 characters, not one of the most common passwords, not only spaces, one character "
                 "repeated or the user name")


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    full_name: str = Field(min_length=1, max_length=100)
    role: str
    scope: str | None = Field(default=None, description="unit code of the account's scope")
    password: str = Field(max_length=200, description=PASSWORD_RULE)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    role: str
    scope_code: str | None
    is_active: bool
    last_login_at: datetime | None = None


class MeRead(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: str
    scope_code: str | None
    scope: list[str] = Field(description="unit-code prefixes the caller sees")
    grids: list[str]


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200, description=PASSWORD_RULE)


class PasswordReset(BaseModel):
    password: str = Field(max_length=200, description=PASSWORD_RULE)
