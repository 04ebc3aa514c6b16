"""What the API says about the audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CheckpointRead(BaseModel):
    """The latest signed checkpoint of the audit chain: keep it, and check the chain against
    it later with `hub audit verify --expect SEQ:HASH` (the `expect` member)."""

    seq: int = Field(description="Sequence number of the entry the checkpoint signs.")
    hash: str = Field(description="That entry's hash (SHA-256, hex).")
    at: datetime = Field(description="When the checkpoint was signed.")
    key_id: str = Field(description="Which audit key signed it.")
    prev_digest: str | None = Field(
        description="SHA-256 of the previous checkpoint's signed message (zeros for the first)."
    )
    digest: str = Field(description="SHA-256 of this checkpoint's signed message.")
    signature: str = Field(description="Ed25519 signature (base64) of the signed message.")
    expect: str = Field(description="`SEQ:HASH`, as `hub audit verify --expect` takes it.")
    public_key_pem: str | None = Field(
        description="The audit public key (PEM) when this process holds the signing key; "
        "otherwise ask the operator (`hub audit public-key`)."
    )
