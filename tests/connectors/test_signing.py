"""The connectors sign with the hub's keys without importing them: the algorithm they name
must be the keys' own."""

from __future__ import annotations

from hub.auth import keys
from hub.connectors import signing


def test_the_webhook_signature_names_the_algorithm_of_the_hubs_keys() -> None:
    assert signing.JWS_ALG == keys.ALG
