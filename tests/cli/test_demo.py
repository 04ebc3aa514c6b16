"""`hub demo` seeds the demo organisations and tells the story through the API."""

import json

from hub.cases.models import Case
from hub.cli.demo import credentials_lines
from hub.demo.seed import ORGS, SERVICES, DemoCredentials
from hub.disclosures.models import Disclosure
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.service_directory.models import Service
from hub.settings import Settings
from hub.transfers.models import Transfer
from tests.support.cli import run_hub


def test_the_demo_tells_the_whole_story_and_can_run_again(
    settings: Settings, runtime: Runtime
) -> None:
    # warnings as errors: the story calls the API in process, and nothing it imports may warn
    first = run_hub(settings, "demo", "--json", timeout=180, PYTHONWARNINGS="error")
    assert first.returncode == 0, first.stderr
    assert "Warning" not in first.stderr
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
    # the directory has the demo's services, and the referral names the one picked there
    assert any("service directory" in step for step in story["steps"])
    with runtime.sessions() as db:
        services = db.query(Service).all()
    assert len(services) == len(SERVICES)
    assert referral.service_id in {s.id for s in services}

    # a second run finds the same organisations, gives fresh secrets, tells it again
    second = run_hub(settings, "demo", "--json", timeout=180)
    assert second.returncode == 0, second.stderr
    again = {o["key"]: o for o in json.loads(second.stdout)["organizations"]}
    assert {k: o["id"] for k, o in again.items()} == {k: o["id"] for k, o in orgs.items()}
    assert again["ngo"]["client_secret"] != orgs["ngo"]["client_secret"]
    with runtime.sessions() as db:
        assert db.query(Service).count() == len(SERVICES)

    verify = run_hub(settings, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _creds() -> DemoCredentials:
    creds = DemoCredentials()
    for n, spec in enumerate(ORGS):
        creds.organizations[spec.key] = f"org{n:029d}"
        creds.names[spec.key] = spec.name
        creds.clients[spec.key] = (f"client-{n}-" + "i" * 16, f"secret-{n}-" + "s" * 34)
    creds.users.append(("officer@iom-agadez.demo", "consent_officer", "p" * 16))
    return creds


def test_each_credential_is_printed_whole_on_a_labelled_line() -> None:
    creds = _creds()
    lines = credentials_lines(creds, "http://127.0.0.1:8123", running=True)
    for key, (client_id, secret) in creds.clients.items():
        assert f"  id:             {creds.organizations[key]}" in lines
        assert f"  client_id:      {client_id}" in lines
        assert f"  client_secret:  {secret}" in lines
    assert "    password:       " + "p" * 16 in lines
    urls = [word for line in lines for word in line.split() if "://" in word]
    assert urls and all(url.startswith("http://127.0.0.1:8123/") for url in urls)


def test_hub_demo_says_where_hub_serve_will_answer() -> None:
    text = "\n".join(credentials_lines(_creds(), "http://127.0.0.1:8000", running=False))
    assert "once `hub serve` runs\n(without --demo, which makes new secrets" in text
    assert "it answers at http://127.0.0.1:8000 by default" in text
