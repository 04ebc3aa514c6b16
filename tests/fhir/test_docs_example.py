"""docs/fhir.md's fhirpy example, run as written against a hub on 127.0.0.1 (only its three
settings replaced: the hub's address, the client's id and its key)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fhir.conftest import FhirWorld
from tests.fhir.test_story import _bundle, _case

DOC = Path(__file__).parents[2] / "docs" / "fhir.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_example_acknowledges_the_new_referrals(fhir_world: FhirWorld) -> None:
    world = fhir_world
    _, reference = _case(world)
    answer = world.sender.fhir().execute("", method="post", data=_bundle(world, reference))
    referral_id = answer["entry"][2]["response"]["location"].removeprefix("Task/")
    code = _example()
    settings = {
        "HUB": repr(world.live.base_url),
        "CLIENT_ID": repr(world.recipient.client_id),
        "KEY": "_KEY",
    }
    for name, value in settings.items():
        code, found = re.subn(rf"^{name} = .*$", f"{name} = {value}", code, flags=re.M)
        assert found == 1, name
    exec(compile(code, str(DOC), "exec"), {"_KEY": world.recipient.key})
    task = world.recipient.fhir().reference("Task", referral_id).to_resource()
    assert task["status"] == "received"
