"""`hub demo` seeds the demo organisations and tells the story through the API."""

import json

from hub.cases.models import Case
from hub.disclosures.models import Disclosure
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import Settings
from hub.transfers.models import Transfer
from tests.support.cli import run_hub


def test_the_demo_tells_the_whole_story_and_can_run_again(
    settings: Settings, runtime: Runtime
) -> None:
    first = run_hub(settings, "demo", "--json", timeout=180)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    story = result["story"]
    orgs = {o["key"]: o for o in result["organizations"]}
    assert all(o["client_secret"] for o in orgs.values())

    with runtime.sessions() as db:
        referral = db.get_one(Referral, story["referral_id"])
        transfer = db.get_one(Transfer, story["transfer_id"])
        case = db.get_one(Case, story["case_id"])
        disclosures = db.query(Disclosure).filter(Disclosure.case_id == case.id).all()
    assert referral.status == "completed"
    assert referral.withheld_categories == ["health"]
    assert transfer.status == "completed"
    assert case.owner_organization_id == orgs["iom_country"]["id"]
    assert sorted((d.channel, d.recipient_organization_id) for d in disclosures) == [
        ("inbox", orgs["ngo"]["id"]),
        ("transfer", orgs["iom_country"]["id"]),
    ]
    assert any("withheld ['health']" in step for step in story["steps"])

    # a second run finds the same organisations, gives fresh secrets, tells it again
    second = run_hub(settings, "demo", "--json", timeout=180)
    assert second.returncode == 0, second.stderr
    again = {o["key"]: o for o in json.loads(second.stdout)["organizations"]}
    assert {k: o["id"] for k, o in again.items()} == {k: o["id"] for k, o in orgs.items()}
    assert again["ngo"]["client_secret"] != orgs["ngo"]["client_secret"]

    verify = run_hub(settings, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
