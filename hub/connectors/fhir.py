"""The FHIR connector: a transaction Bundle POSTed to the partner's FHIR base, the partner's
Task read back (`hub.delivery.polling` maps its status onto the referral), and the hub's own
closing of a referral (`update_task`) or its notices (`notify_task`) written onto that Task
(`hub.delivery.fhir_updates`)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from hub.audit import published
from hub.connectors import fhir_bundle, fhir_task
from hub.connectors.channels import Channel
from hub.connectors.contract import PushContext, PushResult
from hub.connectors.fhir_task import TaskState
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.package import DeliveryPackage, OfferPackage

FHIR_JSON = "application/fhir+json"
# what the hub puts after the partner's base: `Task/<FHIR id>`, nothing the partner chose
TASK_REF = re.compile(r"^Task/[A-Za-z0-9\-.]{1,64}$")
# a partner that changed its Task between our read and our write answers 412: read again
PRECONDITION_FAILED = 412
WRITE_TRIES = 2


def _headers(channel: Channel) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON}
    if channel.secret is not None:
        headers["Authorization"] = "Bearer " + channel.secret.decode()
    return headers


def _base(channel: Channel) -> str:
    if channel.url is None:
        raise ValueError("a fhir channel has a url")
    return channel.url.rstrip("/")


def push(
    package: DeliveryPackage | OfferPackage, channel: Channel, context: PushContext
) -> PushResult:
    if isinstance(package, OfferPackage):
        # transfer offers are not mapped to FHIR: `hub.delivery.push` never routes them here
        raise TypeError("the FHIR connector pushes referrals only")
    bundle = fhir_bundle.build_bundle(package, audit_checkpoint=context.audit_checkpoint)
    content = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        **_headers(channel),
        "Content-Type": FHIR_JSON,
        "Hub-Delivery-Id": package.delivery_id,
    }
    if context.audit_checkpoint is not None:
        # a copy of the hub's latest signed audit checkpoint for the partner to keep, as the
        # webhook sends it (and in the Bundle's meta.tag)
        headers[published.HEADER] = context.audit_checkpoint
    response = context.client.request("POST", _base(channel), headers=headers, content=content)
    remote_ref = None
    try:
        found = fhir_task.task_reference_from_response(json.loads(response.body))
    except ValueError:
        found = None
    if found is not None and TASK_REF.match(found):
        remote_ref = found
    return PushResult(status=response.status, remote_ref=remote_ref)


def read_task(channel: Channel, remote_ref: str, client: OutboundClient) -> TaskState:
    """The partner's Task as it stands (raises DeliveryFailed, or ValueError when the answer
    is not a Task)."""
    return fhir_task.parse_task(_read(channel, remote_ref, client))


def _read(channel: Channel, remote_ref: str, client: OutboundClient) -> dict[str, Any]:
    if not TASK_REF.match(remote_ref):
        raise ValueError("not a Task reference")
    response = client.request("GET", f"{_base(channel)}/{remote_ref}", headers=_headers(channel))
    try:
        document = json.loads(response.body)
    except ValueError:
        raise ValueError("the partner's answer is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("Not a FHIR Task")
    return document


def update_task(
    channel: Channel,
    remote_ref: str,
    client: OutboundClient,
    *,
    status: str,
    reason_code: str,
    reason_text: str | None,
    at: datetime,
) -> str:
    """Write the hub's `status` (cancelled, failed) and its coded reason onto the partner's
    Task: read it, change the status, `statusReason` and `lastModified`, PUT it back (with
    `If-Match` on the version read, so nothing the partner wrote meanwhile is lost).

    Returns `updated`; `unchanged` when the Task already says so; `closed` when the partner
    closed it first (completed, rejected, ...): the hub does not write over the partner's
    answer. Raises DeliveryFailed (the outbox retries the retryable ones) or ValueError when
    the partner's answer is no Task.
    """
    for _ in range(WRITE_TRIES):
        result = _write_once(
            channel, remote_ref, client, status=status, reason=(reason_code, reason_text), at=at
        )
        if result is not None:
            return result
    raise DeliveryFailed(
        "conflict",
        "PUT of a partner's Task: it changed between each read and write.",
        retryable=True,
        status=PRECONDITION_FAILED,
    )


def _write_once(
    channel: Channel,
    remote_ref: str,
    client: OutboundClient,
    *,
    status: str,
    reason: tuple[str, str | None],
    at: datetime,
) -> str | None:
    """One read and write of `update_task`; None when the partner answered 412 (stale)."""
    reason_code, reason_text = reason
    current = _read(channel, remote_ref, client)
    state = fhir_task.parse_task(current)
    if state.status == status and reason_code in _status_reason_codes(current):
        return "unchanged"
    if state.status in fhir_task.FINAL_TASK_STATUSES:
        return "closed"
    updated = fhir_task.task_update(
        current, status=status, reason_code=reason_code, reason_text=reason_text, at=at
    )
    return "updated" if _put(channel, remote_ref, client, current, updated) else None


def notify_task(
    channel: Channel,
    remote_ref: str,
    client: OutboundClient,
    *,
    code: str,
    note: str,
    at: datetime,
) -> str:
    """Write the hub's notice (`fhir_task.task_notice`: `businessStatus` coded `code`, the
    `note`) onto the partner's Task, its status untouched: read, change, PUT with `If-Match`.

    Returns `updated`, or `unchanged` when the Task already carries the code. Raises as
    `update_task` does."""
    for _ in range(WRITE_TRIES):
        current = _read(channel, remote_ref, client)
        fhir_task.parse_task(current)
        if fhir_task.has_notice(current, code):
            return "unchanged"
        updated = fhir_task.task_notice(current, code=code, note=note, at=at)
        if _put(channel, remote_ref, client, current, updated):
            return "updated"
    raise DeliveryFailed(
        "conflict",
        "PUT of a partner's Task: it changed between each read and write.",
        retryable=True,
        status=PRECONDITION_FAILED,
    )


def _put(
    channel: Channel,
    remote_ref: str,
    client: OutboundClient,
    current: dict[str, Any],
    updated: dict[str, Any],
) -> bool:
    """PUT `updated` over the partner's Task, conditional on the version of `current`; False
    when the partner answered 412 (it changed meanwhile: read again)."""
    updated.setdefault("id", remote_ref.removeprefix("Task/"))  # an update names its resource
    headers = {**_headers(channel), "Content-Type": FHIR_JSON}
    version = (current.get("meta") or {}).get("versionId")
    if isinstance(version, str) and version:
        headers["If-Match"] = f'W/"{version}"'
    content = json.dumps(updated, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        client.request("PUT", f"{_base(channel)}/{remote_ref}", headers=headers, content=content)
    except DeliveryFailed as exc:
        if exc.status == PRECONDITION_FAILED:
            return False
        raise
    return True


def _status_reason_codes(task: dict[str, Any]) -> set[str]:
    reason = task.get("statusReason")
    codings = reason.get("coding") if isinstance(reason, dict) else None
    return {
        str(c.get("code"))
        for c in codings or []
        if isinstance(c, dict) and c.get("system") == fhir_task.STATUS_REASON_SYSTEM
    }
