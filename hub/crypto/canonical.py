"""The one byte form of a JSON payload, shared by what seals, hashes and signs it (the
disclosures' record, the webhook connector's body): the kernel's, so neither imports the
other."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The one byte form of a payload: what is sealed, hashed and compared."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")
