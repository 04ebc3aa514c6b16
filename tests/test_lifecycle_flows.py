"""Every kind of review has its flow, and every withdrawal its listeners, once the worker has
connected the hub's parts (`hub.wiring`): a review or a withdrawal nobody acts on would leave a
request held or data flowing."""

from __future__ import annotations

from hub.consent.tasks import LISTENERS
from hub.lifecycle.decisions import FLOWS
from hub.reviews.schemas import ReviewKind
from hub.wiring import install


def test_each_review_kind_has_a_flow_and_each_domain_listens_to_withdrawals() -> None:
    install()
    assert set(FLOWS) == {kind.value for kind in ReviewKind}
    for kind, flow in FLOWS.items():
        assert flow.kind == kind
    owners = {listener.__module__ for listener in LISTENERS}
    assert owners == {"hub.referrals.tasks", "hub.transfers.sending"}
