"""Request and response shapes for organisations and data sharing agreements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    model_config = ConfigDict(extra="forbid")

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
    model_config = ConfigDict(extra="forbid")

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
