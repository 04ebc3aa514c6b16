"""A FHIR push carries the hub's latest signed audit checkpoint, as a webhook delivery does:
in the `Hub-Audit-Checkpoint` header and in the Bundle's `meta.tag`, the same value, which the
partner can check offline. Against a FHIR server on 127.0.0.1."""

from __future__ import annotations

import base64
from datetime import datetime

from hub.audit.checkpoints import checkpoint_message
from hub.audit.published import FHIR_TAG_SYSTEM, header_value, parse_header
from hub.audit.signing import load_public_key, verify_signature
from hub.audit.tasks import make_checkpoint
from tests.support.api import Partner
from tests.support.fhir_server import FhirServer
from tests.support.outbox_drain import drain
from tests.support.referral_world import World

TOKEN = "partner-fhir-bearer-token-0002"


def _fhir_channel(world: World, admin: Partner, server: FhirServer) -> None:
    response = world.api.put(
        f"/v1/organizations/{world.recipient.organization_id}/channel",
        json={"kind": "fhir", "url": server.base_url, "secret": TOKEN},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def test_a_fhir_push_carries_the_latest_checkpoint(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    runtime = world.runtime
    _fhir_channel(world, admin, fhir_server)
    world.sent()
    cp = make_checkpoint(runtime)  # signed while the referral waits in the outbox
    assert cp is not None
    assert drain(runtime) == ["referral.deliver"]

    [sent] = fhir_server.audit_checkpoints
    [bundle] = fhir_server.bundles
    assert fhir_server.invalid == []  # the tagged Bundle is valid FHIR R4
    assert sent == header_value(cp)
    [tag] = bundle["meta"]["tag"]
    assert tag == {"system": FHIR_TAG_SYSTEM, "code": sent}

    parts = parse_header(tag["code"])
    assert (int(parts["seq"]), parts["hash"], parts["key_id"]) == (cp.seq, cp.hash, cp.key_id)
    message = checkpoint_message(
        seq=int(parts["seq"]),
        hash=parts["hash"],
        at=datetime.fromisoformat(parts["at"]),
        key_id=parts["key_id"],
        prev_digest=parts["prev"] or None,
    )
    public = load_public_key(runtime.audit_key.public_pem.encode())
    assert verify_signature(public, base64.b64decode(parts["sig"]), message)


def test_before_any_checkpoint_neither_header_nor_tag(
    world: World, admin: Partner, fhir_server: FhirServer
) -> None:
    _fhir_channel(world, admin, fhir_server)
    world.sent()
    assert drain(world.runtime) == ["referral.deliver"]
    assert fhir_server.audit_checkpoints == [None]
    [bundle] = fhir_server.bundles
    assert "meta" not in bundle
