"""The hub's closing of a referral written onto a partner's Task (`hub.connectors.fhir`),
against a FHIR server on 127.0.0.1: read, change, PUT back conditionally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fhir.resources.R4B.task import Task

from hub.connectors import fhir
from hub.connectors.channels import Channel
from hub.connectors.fhir_bundle import build_bundle
from hub.connectors.fhir_task import STATUS_REASON_SYSTEM
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.schemas import ChannelKind
from tests.connectors.test_fhir_bundle import make_package
from tests.support.fhir_server import FhirServer

AT = datetime(2025, 3, 6, 8, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[OutboundClient]:
    with OutboundClient(
        require_https=False,
        allowed_hosts=["127.0.0.1"],
        connect_timeout=2,
        read_timeout=2,
        max_response_bytes=1_000_000,
    ) as guarded:
        yield guarded


def _pushed(partner: FhirServer) -> tuple[Channel, str]:
    response = httpx.post(partner.base_url, json=build_bundle(make_package()))
    assert response.status_code == 200
    [task_id] = partner.tasks
    channel = Channel("org-recipient", ChannelKind.fhir, url=partner.base_url, secret=b"t0k")
    return channel, f"Task/{task_id}"


def _cancel(channel: Channel, ref: str, client: OutboundClient) -> str:
    return fhir.update_task(
        channel,
        ref,
        client,
        status="cancelled",
        reason_code="consent_withdrawn",
        reason_text="The beneficiary withdrew consent",
        at=AT,
    )


def test_the_task_is_cancelled_with_its_coded_reason(client: OutboundClient) -> None:
    with FhirServer() as partner:
        channel, ref = _pushed(partner)
        assert _cancel(channel, ref, client) == "updated"
        [update] = partner.updates
        Task.model_validate(update)
        assert update["status"] == "cancelled"
        assert update["statusReason"]["coding"][0]["system"] == STATUS_REASON_SYSTEM
        assert update["statusReason"]["coding"][0]["code"] == "consent_withdrawn"
        assert update["lastModified"] == "2025-03-06T08:00:00Z"
        assert partner.if_match == ['W/"1"']
        assert partner.authorization[-1] == "Bearer t0k"
        # once more (a retried message): the Task already says so, nothing is written
        assert _cancel(channel, ref, client) == "unchanged"
        assert len(partner.updates) == 1


def test_a_task_changed_meanwhile_is_read_again(client: OutboundClient) -> None:
    with FhirServer() as partner:
        channel, ref = _pushed(partner)
        partner.conflicts = 1
        assert _cancel(channel, ref, client) == "updated"
        assert len(partner.updates) == 1 and len(partner.if_match) == 2


def test_a_task_that_keeps_changing_is_left_for_a_retry(client: OutboundClient) -> None:
    with FhirServer() as partner:
        channel, ref = _pushed(partner)
        partner.conflicts = fhir.WRITE_TRIES
        with pytest.raises(DeliveryFailed) as failed:
            _cancel(channel, ref, client)
        assert (failed.value.code, failed.value.retryable) == ("conflict", True)
        assert partner.updates == []


@pytest.mark.parametrize("closed", ["completed", "rejected", "cancelled", "failed"])
def test_a_task_the_partner_closed_is_not_written_over(client: OutboundClient, closed: str) -> None:
    with FhirServer() as partner:
        channel, ref = _pushed(partner)
        partner.set_task_status(ref.removeprefix("Task/"), closed, reason="their words")
        assert _cancel(channel, ref, client) == "closed"
        assert partner.updates == []


def test_an_unknown_task_and_a_bad_reference_fail(client: OutboundClient) -> None:
    with FhirServer() as partner:
        channel, _ = _pushed(partner)
        with pytest.raises(DeliveryFailed) as failed:
            _cancel(channel, "Task/999", client)
        assert (failed.value.status, failed.value.retryable) == (404, False)
        with pytest.raises(ValueError):
            _cancel(channel, "Task/../../admin", client)
