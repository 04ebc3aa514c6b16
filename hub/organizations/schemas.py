"""Request and response shapes for organisations and data sharing agreements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Association Tadamoun, Agadez",
                    "kind": "ngo",
                    "services": ["psychosocial_support", "shelter"],
                    "country": "NE",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    kind: str
    parent_id: str | None = None
    services: list[str] = Field(default_factory=list, max_length=50)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    parent_id: str | None
    services: list[str]
    country: str | None


class OrganizationPage(BaseModel):
    items: list[OrganizationRead]


class AgreementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "from_organization_id": "0f6c1c8e9b2a4d7e8f1a2b3c4d5e6f70",
                    "to_organization_id": "7a8b9c0d1e2f4a5b8c6d7e8f9a0b1c2d",
                    "purposes": ["psychosocial_support", "shelter"],
                    "categories": ["identity", "contact"],
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_until": "2031-12-31T23:59:59Z",
                }
            ]
        },
    )

    from_organization_id: str
    to_organization_id: str
    purposes: list[str] = Field(min_length=1, max_length=50)
    categories: list[str] = Field(min_length=1, max_length=50)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> AgreementCreate:
        for value in (self.valid_from, self.valid_until):
            if value is not None and value.tzinfo is None:
                raise ValueError("times must carry a zone (RFC 3339)")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class AgreementRevoke(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "The partner closed its office"}]},
    )

    # why, for the audit log: a sentence about the organisations, never about a person
    reason: str | None = Field(None, max_length=500)


class AgreementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    from_organization_id: str
    to_organization_id: str
    purposes: list[str]
    categories: list[str]
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None


class AgreementPage(BaseModel):
    items: list[AgreementRead]


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scope": "cases:read cases:write consents:write referrals:read referrals:write",
                    "name": "Case management system",
                }
            ]
        },
    )

    scope: str = Field(min_length=1, max_length=2000, description="Space-separated scopes")
    name: str = Field("", max_length=200)
    jwks: dict[str, Any] | None = Field(
        None, description="Public keys for private_key_jwt; a client with keys has no secret"
    )


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    organization_id: str
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


class ClientCreated(ClientRead):
    client_secret: str | None = Field(description="Shown once; only its hash is kept")


class ClientPage(BaseModel):
    items: list[ClientRead]
