"""The requests start deliveries through the hook the workflow registers as it is imported:
registered, it is the workflow's; missing, a send fails loudly instead of leaving a referral
or an offer undelivered."""

from __future__ import annotations

from typing import Any

import pytest

from hub.delivery import service
from hub.referrals import sending as referral_sending
from hub.transfers import sending as transfer_sending


@pytest.mark.parametrize("sending", [referral_sending, transfer_sending])
def test_the_delivery_workflow_starts_what_the_requests_send(sending: Any) -> None:
    assert sending._start_delivery[0].__module__ == service.__name__


@pytest.mark.parametrize("sending", [referral_sending, transfer_sending])
def test_a_send_without_the_workflow_loaded_fails_loudly(
    sending: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending, "_start_delivery", [])
    with pytest.raises(RuntimeError, match="no delivery workflow"):
        sending.start_delivery(None, None)
