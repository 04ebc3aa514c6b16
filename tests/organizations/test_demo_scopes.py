"""The demo grants no partner organisation's client `admin` (it spans all tenants)."""

from __future__ import annotations

from sqlalchemy import select

from hub.auth import scopes
from hub.auth.models import OAuthClient
from hub.demo.seed import seed
from hub.runtime import Runtime


def test_no_demo_client_holds_admin(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        creds = seed(db=db, policy=runtime.policy)
    with runtime.sessions() as db:
        rows = db.scalars(select(OAuthClient)).all()
        assert {r.organization_id for r in rows} == set(creds.organizations.values())
        assert not [r.client_id for r in rows if "admin" in scopes.parse(r.scope)]
        # the country office keeps deciding reviews (through a person: On-Behalf-Of)
        country = creds.clients["iom_country"][0]
        assert "reviews:decide" in scopes.parse(db.get_one(OAuthClient, country).scope)
