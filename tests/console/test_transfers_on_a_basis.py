"""A case transfer on a legal basis at the console, in English and French: the proposal form
offers the bases of the person's role with their data, the transfer service's refusals of a
basis are said beside it, the transfer's page, the review page and the people to inform show
the basis and the transfer. Every rule is the services' (`hub.legal_bases.invocation`,
`hub.transfers.sending`): these tests check that the pages show and ask them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.legal_bases.models import PersonNotice
from hub.runtime import Runtime
from tests.console.test_transfers import plan_form, propose, text_of, transfers_of, words, worker_of
from tests.support import outbox_drain, transfer_world
from tests.support.api import officer_for
from tests.support.people import person, sign_in
from tests.support.transfer_world import World

BASIS = "best_interests_determination"
WHY = "The BID panel found the child must be placed under the ministry's guardianship now."


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return transfer_world.make_world(runtime, api)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_case_worker_proposes_a_transfer_on_a_basis_and_the_pages_show_it(
    language: str, world: World, api: TestClient
) -> None:
    authority = transfer_world.ministry(world)
    case_id = world.case(birth_date="2015-06-01")  # no consent
    worker_of(world, api, world.sender.organization_id, language)
    form = text_of(api.get(f"/console/cases/{case_id}/transfer").text)
    assert f'<option value="{BASIS}"' in form and '<option value="vital_interest"' in form
    # a legal obligation is the consent officers' to invoke
    assert '<option value="legal_obligation"' not in form
    assert words(language, "Best interests determination (BID)") in form

    silent = propose(
        api, case_id, plan_form(world, to=authority.organization_id, legal_basis=BASIS)
    )
    assert silent.status_code == 400
    assert 'href="#basis_justification"' in silent.text
    inside = propose(
        api,
        case_id,
        plan_form(
            world, to=world.country.organization_id, legal_basis=BASIS, basis_justification=WHY
        ),
    )
    assert inside.status_code == 400 and 'href="#legal_basis"' in inside.text
    assert transfers_of(world.runtime, case_id) == []

    made = propose(
        api,
        case_id,
        plan_form(world, to=authority.organization_id, legal_basis=BASIS, basis_justification=WHY),
    )
    assert made.status_code == 303, made.text
    [transfer] = transfers_of(world.runtime, case_id)
    assert (transfer.status, transfer.legal_basis) == ("pending_review", BASIS)
    page = text_of(api.get(made.headers["location"]).text)
    basis = words(language, "Best interests determination (BID)")
    assert words(language, "Legal basis: %(basis)s") % {"basis": basis} in page

    # the consent officers' review page: the transfer, its basis, the requester's words
    officer = person(world.runtime, world.sender.organization_id, "consent_officer")
    api.cookies.clear()
    sign_in(api, officer)
    review = text_of(api.get(f"/console/reviews/{transfer.review_id}?lang={language}").text)
    assert words(language, "Asked without the person's consent") in review
    assert WHY in review

    for _ in range(2):
        approver = officer_for(world.runtime, world.api, world.sender.organization_id)
        answer = world.api.post(
            f"/v1/reviews/{transfer.review_id}/approve",
            json={"justification": "The panel's record is on file."},
            headers=approver.headers,
        )
        assert answer.status_code == 200, answer.text
    outbox_drain.drain(world.runtime)
    assert world.get(transfer.id, authority).json()["plan"] is not None
    with world.runtime.sessions() as db:
        notice = db.scalars(
            select(PersonNotice).where(PersonNotice.transfer_id == transfer.id)
        ).one()
    worker_of(world, api, world.sender.organization_id, language)
    listing = text_of(api.get("/console/person-notices").text)
    assert f"/console/person-notices/{notice.id}" in listing and basis in listing
    shown = text_of(api.get(f"/console/person-notices/{notice.id}").text)
    assert words(language, "Shared through") in shown
    assert f'href="/console/transfers/{transfer.id}"' in shown
    assert words(language, "Case transfer %(id)s") % {"id": transfer.id[:8]} in shown
    # the case is the sending office's until the authority accepts it
    assert f'href="/console/cases/{case_id}"' in shown
    assert f'href="/console/cases/{case_id}/statement"' in shown

    # once it is accepted the news is still the sending office's to give, but the case (and
    # its statement) is the authority's now: no link that would only lead to "not found"
    assert world.act(transfer.id, "accept", authority).status_code == 200
    moved = api.get(f"/console/person-notices/{notice.id}")
    assert moved.status_code == 200
    assert f'href="/console/cases/{case_id}' not in moved.text
    assert api.get(f"/console/cases/{case_id}").status_code == 404
    held_by = words(
        language,
        "Now held by %(organisation)s: the case and its statement of disclosures are theirs "
        "to open.",
    ) % {"organisation": "Ministry of Social Affairs"}
    assert held_by in text_of(moved.text)
