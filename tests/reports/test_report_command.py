"""`hub report --month`: the whole hub's month, labelled in French or English, as CSV or
JSON; small cells hidden, no personal data."""

from __future__ import annotations

import csv
import io
import json

from hub.clock import utcnow
from tests.support.cli import run_hub
from tests.support.referral_world import CANARY_NAME, CANARY_NOTE, World


def test_the_monthly_report_in_french_and_as_json(world: World) -> None:
    made = [world.sent() for _ in range(6)]
    assert world.act(made[0], "acknowledge", world.recipient).status_code == 200
    month = utcnow().strftime("%Y-%m")
    settings = world.runtime.settings

    done = run_hub(settings, "report", "--month", month, "--lang", "fr", "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = list(csv.reader(io.StringIO(done.stdout)))
    assert lines[0] == ["rubrique", "élément", "valeur"]
    assert ["Total", "", "6"] in lines
    partner = "Partner NGO"
    counts = {line[1]: line[2] for line in lines if line[0] == "Orientations"}
    assert counts == {
        # 5 still sent, 1 acknowledged: the small one, and the one that would give it away
        f"Type de service: Soutien psychosocial / Partenaire: {partner} / Statut: Envoyée"
        " / Urgence: Normale": "*",
        f"Type de service: Soutien psychosocial / Partenaire: {partner} / Statut: Réception "
        "accusée / Urgence: Normale": "<5",
    }
    for secret in (CANARY_NAME, CANARY_NOTE, *made):
        assert secret not in done.stdout

    as_json = run_hub(settings, "report", "--month", month, "--format", "json", "--group-by", "sex")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["total"] == 6 and document["from"] == f"{month}-01"
    assert document["rows"] == [{"values": {"sex": "female"}, "count": 6}]
    assert document["labels"]["sex"] == "Sex" and document["lang"] == "en"

    # a coded answer is reported by its code, labelled in the language asked for
    assert (
        world.act(made[0], "decline", world.recipient, {"reason_code": "no_capacity"}).status_code
        == 200
    )
    coded = run_hub(settings, "report", "--month", month, "--format", "json", "--lang", "fr")
    assert coded.returncode == 0, coded.stderr
    document = json.loads(coded.stdout)
    assert {"status": "declined", "reason": "no_capacity", "count": "<5"} in document["reasons"]
    assert document["labels"]["no_capacity"] == "Pas de capacité pour accueillir la personne"

    earlier = run_hub(settings, "report", "--month", "2001-01", "--format", "json")
    assert json.loads(earlier.stdout)["total"] == 0
    bad = run_hub(settings, "report", "--month", "November")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
