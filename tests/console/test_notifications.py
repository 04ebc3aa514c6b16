"""A person's notifications in the console: the home page's "needs your attention" (the
unread count and the latest), the page listing them, marking one or all read (CSRF-checked,
the person's own only), in English and French; and in the browser, with screenshots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.clock import clock
from hub.notifications import service as notifications
from hub.notifications.models import Notification
from hub.referrals import follow_up
from hub.referrals.models import Referral
from hub.runtime import Runtime
from tests.support.moved_clock import run_at
from tests.support.outbox_drain import drain
from tests.support.people import Person, csrf_of, person, sign_in
from tests.support.referral_world import CANARY_NAME, World


def _escalated(world: World) -> str:
    """A referral escalated past its answer deadline; the pass and its notifications run."""
    referral_id = world.sent()
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    with world.runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).due_at
    run_at(follow_up.run, world.runtime, due + timedelta(hours=49))
    drain(world.runtime)
    clock.reset()
    return referral_id


def _unread(runtime: Runtime, who: Person) -> int:
    with runtime.sessions() as db:
        return notifications.unread_count(db=db, user_id=who.id)


def test_the_home_page_and_the_list_and_marking_read(world: World, api: TestClient) -> None:
    runtime = world.runtime
    admin = person(runtime, world.recipient.organization_id, "admin")
    other = person(runtime, world.recipient.organization_id, "admin")
    referral_id = _escalated(world)
    second = _escalated(world)
    assert _unread(runtime, admin) == _unread(runtime, other) == 2

    sign_in(api, admin)
    home = api.get("/console")
    assert home.status_code == 200
    assert "Needs your attention" in home.text and "(2)" in home.text
    assert "Escalated: a referral has had no answer long past its deadline" in home.text
    assert f"/console/received/{referral_id}" in home.text
    assert CANARY_NAME not in home.text

    listing = api.get("/console/notifications")
    assert listing.status_code == 200
    assert "2 unread notifications." in listing.text
    with runtime.sessions() as db:
        mine = db.scalars(
            select(Notification).where(
                Notification.user_id == admin.id, Notification.object_id == referral_id
            )
        ).one()
        theirs = db.scalars(select(Notification).where(Notification.user_id == other.id)).first()
    assert theirs is not None
    token = csrf_of(listing.text)
    # without the CSRF token: refused, nothing marked
    refused = api.post("/console/notifications/read", data={"id": mine.id})
    assert refused.status_code == 403
    assert _unread(runtime, admin) == 2
    # another person's notification: ignored
    api.post("/console/notifications/read", data={"csrf_token": token, "id": theirs.id})
    assert _unread(runtime, other) == 2 and _unread(runtime, admin) == 2
    done = api.post(
        "/console/notifications/read",
        data={"csrf_token": token, "id": mine.id},
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/console/notifications?marked=1")
    assert _unread(runtime, admin) == 1
    assert "(1)" in api.get("/console").text
    api.post("/console/notifications/read", data={"csrf_token": token, "all": "1"})
    assert _unread(runtime, admin) == 0 and _unread(runtime, other) == 2
    assert "Nothing needs your attention." in api.get("/console").text
    assert second in api.get("/console/notifications").text  # read ones are still listed

    french = api.get("/console/notifications?lang=fr")
    assert "0 notification non lue." in french.text or "notifications non lues" in french.text
    assert "Remontée : une orientation est sans réponse" in french.text
    assert "Rien ne requiert votre attention." in api.get("/console?lang=fr").text


@pytest.mark.browser
def test_the_notifications_in_the_browser(
    live_hub, world: World, new_page, axe_check, screenshot, page_weight
) -> None:  # type: ignore[no-untyped-def]
    runtime = world.runtime
    maker = person(runtime, world.sender.organization_id, "case_worker")
    case_id = world.case()
    world.consent(case_id)
    response = world.refer(case_id, headers=world.sender.acting_for(maker.id).headers)
    assert response.status_code == 201, response.text
    referral_id = response.json()["id"]
    assert world.act(referral_id, "acknowledge", world.recipient).status_code == 200
    with runtime.sessions() as db:
        due = db.get_one(Referral, referral_id).due_at
    run_at(follow_up.run, runtime, due + timedelta(hours=49))
    drain(runtime)
    clock.reset()
    for language in ("en", "fr"):
        page = new_page(locale="fr-FR" if language == "fr" else "en-GB")
        page.goto(f"{live_hub.url}/console/sign-in")
        page.fill("input[name=email]", maker.email)
        page.fill("input[name=password]", maker.password)
        page.click("button[type=submit]")
        page.goto(f"{live_hub.url}/console?lang={language}")
        axe_check(page)
        screenshot(page, f"{language}-home-attention")
        assert page_weight(page, page.url) < 100 * 1024
        page.click("a[href='/console/notifications']")
        axe_check(page)
        screenshot(page, f"{language}-notifications")
        page.click(
            "button:has-text('Marquer comme lue')"
            if language == "fr"
            else "button:has-text('Mark as read')"
        )
        expected = "Marquée comme lue." if language == "fr" else "Marked as read."
        assert expected in page.content()
        screenshot(page, f"{language}-notifications-read")
        if language == "en":
            # read now: the French pass gets one of its own
            with runtime.sessions.begin() as db:
                db.add(
                    Notification(
                        user_id=maker.id,
                        organization_id=maker.organization_id,
                        code="referral.overdue",
                        stage="answer",
                        object_type="referral",
                        object_id=referral_id,
                    )
                )
        page.close()
