from hub.lifecycle import Party
from hub.referrals import lifecycle as referral
from hub.transfers import lifecycle as transfer


def _statuses(module) -> set[str]:  # type: ignore[no-untyped-def]
    table = module.MOVES
    return {s for m in table.values() for s in m.sources} | {m.target for m in table.values()}


def test_every_referral_status_maps_to_a_fhir_task_status() -> None:
    assert _statuses(referral) == set(referral.FHIR_TASK_STATUS)


def test_final_statuses_have_no_way_out_but_redelivery() -> None:
    for module in (referral, transfer):
        for action, rule in module.MOVES.items():
            if action in getattr(module, "REOPENING", ()):
                continue
            assert not (rule.sources & module.FINAL), rule
    # redelivery reopens only a failed referral, and only back to `sent`
    redeliver = referral.MOVES["redeliver"]
    assert {"redeliver"} == referral.REOPENING
    assert (redeliver.sources, redeliver.target) == ({referral.FAILED}, referral.SENT)


def test_the_recipient_drives_the_service_and_the_sender_may_cancel() -> None:
    path = ["acknowledge", "accept", "start", "complete"]
    status = referral.SENT
    for action in path:
        rule = referral.MOVES[action]
        assert rule.party is Party.recipient and status in rule.sources
        status = rule.target
    assert status == referral.COMPLETED
    assert referral.MOVES["cancel"].party is Party.sender
    assert referral.COMPLETED not in referral.MOVES["cancel"].sources


def test_consent_withdrawal_stops_only_what_has_not_been_answered() -> None:
    assert referral.MOVES["withdraw_consent"].sources == referral.WITHDRAWABLE
    assert referral.ACKNOWLEDGED not in referral.WITHDRAWABLE
    assert transfer.MOVES["withdraw_consent"].sources == transfer.WITHDRAWABLE


def test_a_request_sent_back_is_resubmitted_or_cancelled_by_its_sender() -> None:
    for module in (referral, transfer):
        back = module.MOVES["return"]
        assert (back.sources, back.target) == ({module.PENDING_REVIEW}, module.RETURNED)
        assert back.party is Party.reviewer and back.reason_required
        again = module.MOVES["resubmit"]
        assert (again.sources, again.target) == ({module.RETURNED}, module.PENDING_REVIEW)
        assert again.party is Party.sender
        assert module.RETURNED in module.MOVES["cancel"].sources
        # a consent withdrawn cancels one sent back as well
        assert module.RETURNED in module.WITHDRAWABLE
        # only the gate releases one resubmitted
        release = module.MOVES["release"]
        assert (release.sources, release.target) == ({module.PENDING_REVIEW}, module.SENT)
        assert release.party is Party.system
    assert referral.FHIR_TASK_STATUS[referral.RETURNED] == "on-hold"
