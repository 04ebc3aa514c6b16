"""Every kind of review has its flow, and every withdrawal its listeners, once the worker has
imported its task modules: a review or a withdrawal nobody acts on would leave a request held
or data flowing."""

from __future__ import annotations

import importlib

from hub.consent.tasks import LISTENERS
from hub.lifecycle.decisions import FLOWS
from hub.reviews.schemas import ReviewKind
from hub.worker.celery_app import TASK_MODULES


def test_each_review_kind_has_a_flow_and_each_domain_listens_to_withdrawals() -> None:
    for name in TASK_MODULES:
        importlib.import_module(name)
    assert set(FLOWS) == {kind.value for kind in ReviewKind}
    for kind, flow in FLOWS.items():
        assert flow.kind == kind
    owners = {listener.__module__ for listener in LISTENERS}
    assert owners == {"hub.referrals.tasks", "hub.transfers.sending"}
