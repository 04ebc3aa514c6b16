"""Connector tests talk to partners served on 127.0.0.1: allowed here, over plain http. Their
`world` is the referral world (tests/support/worlds.py)."""

from __future__ import annotations

from tests.support.loopback_partners import admin, fhir_server, receiver, settings

__all__ = ["admin", "fhir_server", "receiver", "settings"]
