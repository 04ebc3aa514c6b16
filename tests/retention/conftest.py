"""Retention tests tell the organisations that held a case's data through a webhook served on
127.0.0.1 (allowed here over plain http); their `world` is the referral world."""

from __future__ import annotations

from tests.support.loopback_partners import admin, receiver, settings

__all__ = ["admin", "receiver", "settings"]
