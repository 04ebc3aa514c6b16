"""A stateful model test of the consent gate.

Hypothesis drives random sequences of consents, new versions, withdrawals, clock moves (so
consents and agreements expire), agreements and revocations, and disclosure requests. The
machine keeps its own plain model of what is in force (below, in a few lines of set
arithmetic, without the gate's helpers or `hub.consent.status`) and checks every decision:

- nothing is permitted that no active consent and no agreement in force both cover right now;
- no consent of a withdrawn series is ever relied on again;
- and the converse, so the gate is not simply refusing everything: what the model says is
  covered is permitted (held for review at worst), unless an active consent excludes the
  recipient.

Requests on a legal basis (`legal_bases:` in the policy) are checked the same way against the
basis: never permitted outright (held for the consent officers at best, so that nothing leaves
without consent or an approved basis), never more than the basis's categories that an
agreement in force covers, never for a purpose the basis does not serve, never to a recipient
an active consent excludes, and relying on no consent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from hub.clock import utcnow
from hub.consent.answers import Answer, meaning
from hub.consent.gate import Outcome
from hub.consent.models import Consent
from hub.organizations.models import DataSharingAgreement
from hub.runtime import Runtime
from tests.support.consent_rows import add_consent, withdraw
from tests.support.gate_world import World

# a small world, so that consents, agreements and requests meet often
PURPOSES = ("psychosocial_support", "medical_care")
CATEGORIES = ("identity", "contact", "health")
KINDS = ("ngo", "government")
# bases that serve any purpose (one of them covering only identity here), and one that serves
# neither of the small world's purposes
BASES = ("vital_interest", "best_interests_determination", "legal_obligation")

purposes = st.frozensets(st.sampled_from(PURPOSES), min_size=1)
categories = st.frozensets(st.sampled_from(CATEGORIES), min_size=1)
kinds = st.frozensets(st.sampled_from(KINDS), min_size=1)
lifetime = st.one_of(st.none(), st.integers(min_value=1, max_value=20))  # days
pick = st.integers(min_value=0, max_value=50)
recipient = st.integers(min_value=0, max_value=2)
# exclusions veto everything for their recipient: mostly none, so that permits stay common
no_exclusion: st.SearchStrategy[frozenset] = st.just(frozenset())
excluded_orgs = st.one_of(no_exclusion, no_exclusion, st.frozensets(recipient, max_size=1))
excluded_kinds = st.one_of(
    no_exclusion, no_exclusion, st.frozensets(st.sampled_from(KINDS), max_size=1)
)


@dataclass
class Series:
    """The model's view of a consent series: its current version and whether it is withdrawn."""

    consent_id: str
    purposes: frozenset[str]
    categories: frozenset[str]
    organizations: frozenset[int]
    kinds: frozenset[str]
    excluded_organizations: frozenset[int]
    excluded_kinds: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    withdrawn: bool = False
    old_ids: set[str] = field(default_factory=set)


@dataclass
class Agreement:
    id: str
    to: int
    purposes: frozenset[str]
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    revoked: bool = False


def in_force(valid_from: datetime, valid_until: datetime | None, now: datetime) -> bool:
    return valid_from <= now and (valid_until is None or now < valid_until)


def make_machine(runtime: Runtime) -> type[RuleBasedStateMachine]:
    class GateMachine(RuleBasedStateMachine):
        @initialize(
            scopes=st.lists(st.tuples(purposes, categories), min_size=3, max_size=3),
            first=st.tuples(purposes, categories, kinds),
        )
        def start(
            self,
            scopes: list[tuple[frozenset[str], frozenset[str]]],
            first: tuple[frozenset[str], frozenset[str], frozenset[str]],
        ) -> None:
            self.world = World.make(runtime)
            w = self.world
            self.recipients = [(w.ngo, "ngo"), (w.other_ngo, "ngo"), (w.government, "government")]
            self.case = w.case()
            self.now = utcnow()
            self.series: list[Series] = []
            self.agreements: list[Agreement] = []
            # an agreement with each recipient to begin with: without one, everything is denied
            for to, (p, c) in enumerate(scopes):
                self._agree(to, p, c, None)
            # and a consent, for the same reason
            p, c, k = first
            self.give_consent(p, c, frozenset(), k, frozenset(), frozenset(), None)

        def _until(self, days: int | None) -> datetime | None:
            return None if days is None else self.now + timedelta(days=days)

        @rule(
            p=purposes,
            c=categories,
            orgs=st.frozensets(recipient, max_size=2),
            k=kinds,
            ex_orgs=excluded_orgs,
            ex_kinds=excluded_kinds,
            days=lifetime,
        )
        def give_consent(self, p, c, orgs, k, ex_orgs, ex_kinds, days) -> None:  # type: ignore[no-untyped-def]
            until = self._until(days)
            with runtime.sessions.begin() as db:
                row = add_consent(
                    db,
                    self.case,
                    purposes=sorted(p),
                    categories=sorted(c),
                    organizations=[self.recipients[i][0] for i in sorted(orgs)],
                    kinds=sorted(k),
                    excluded_organizations=[self.recipients[i][0] for i in sorted(ex_orgs)],
                    excluded_kinds=sorted(ex_kinds),
                    valid_from=self.now,
                    valid_until=until,
                    given_at=self.now,
                )
                consent_id = row.id
            self.series.append(
                Series(consent_id, p, c, orgs, k, ex_orgs, ex_kinds, self.now, until)
            )

        @precondition(lambda self: any(not s.withdrawn for s in self.series))
        @rule(i=pick, p=purposes, c=categories, k=kinds, days=lifetime)
        def new_version(self, i, p, c, k, days) -> None:  # type: ignore[no-untyped-def]
            live = [s for s in self.series if not s.withdrawn]
            s = live[i % len(live)]
            until = self._until(days)
            with runtime.sessions.begin() as db:
                row = add_consent(
                    db,
                    self.case,
                    purposes=sorted(p),
                    categories=sorted(c),
                    organizations=[self.recipients[j][0] for j in sorted(s.organizations)],
                    kinds=sorted(k),
                    excluded_organizations=[
                        self.recipients[j][0] for j in sorted(s.excluded_organizations)
                    ],
                    excluded_kinds=sorted(s.excluded_kinds),
                    valid_from=self.now,
                    valid_until=until,
                    given_at=self.now,
                    supersedes=db.get_one(Consent, s.consent_id),
                )
                new_id = row.id
            s.old_ids.add(s.consent_id)
            s.consent_id, s.purposes, s.categories, s.kinds = new_id, p, c, k
            s.valid_from, s.valid_until = self.now, until

        @precondition(lambda self: any(not s.withdrawn for s in self.series))
        @rule(i=pick)
        def withdraw_series(self, i: int) -> None:
            live = [s for s in self.series if not s.withdrawn]
            s = live[i % len(live)]
            with runtime.sessions.begin() as db:
                withdraw(db, db.get_one(Consent, s.consent_id), at=self.now)
            s.withdrawn = True

        @rule(hours=st.integers(min_value=1, max_value=24 * 5))
        def move_clock(self, hours: int) -> None:
            self.now += timedelta(hours=hours)

        @rule(to=recipient, p=purposes, c=categories, days=lifetime)
        def make_agreement(self, to: int, p, c, days) -> None:  # type: ignore[no-untyped-def]
            self._agree(to, p, c, self._until(days))

        def _agree(
            self, to: int, p: frozenset[str], c: frozenset[str], until: datetime | None
        ) -> None:
            agreement_id = self.world.agreement(
                self.recipients[to][0],
                purposes=sorted(p),
                categories=sorted(c),
                valid_from=self.now,
                valid_until=until,
            )
            self.agreements.append(Agreement(agreement_id, to, p, c, self.now, until))

        # revocations would otherwise soon leave nothing to decide but denials
        @precondition(lambda self: sum(not a.revoked for a in self.agreements) >= 3)
        @rule(i=pick)
        def revoke_agreement(self, i: int) -> None:
            live = [a for a in self.agreements if not a.revoked]
            a = live[i % len(live)]
            with runtime.sessions.begin() as db:
                db.get_one(DataSharingAgreement, a.id).revoked_at = self.now
            a.revoked = True

        def expected(self, to: int, purpose: str, wanted: frozenset[str]) -> set[str]:
            kind = self.recipients[to][1]
            active = [
                s
                for s in self.series
                if not s.withdrawn and in_force(s.valid_from, s.valid_until, self.now)
            ]
            if any(to in s.excluded_organizations or kind in s.excluded_kinds for s in active):
                return set()
            consented: set[str] = set()
            for s in active:
                if (to in s.organizations or kind in s.kinds) and purpose in s.purposes:
                    consented |= s.categories
            agreed: set[str] = set()
            for a in self.agreements:
                live = not a.revoked and in_force(a.valid_from, a.valid_until, self.now)
                if live and a.to == to and purpose in a.purposes:
                    agreed |= a.categories
            return set(wanted) & consented & agreed

        # two rules for requests, so that they make up a larger share of the steps
        @rule(to=recipient, purpose=st.sampled_from(PURPOSES), wanted=categories)
        def request(self, to: int, purpose: str, wanted: frozenset[str]) -> None:
            self._check(to, purpose, wanted)

        @rule(to=recipient, purpose=st.sampled_from(PURPOSES), wanted=categories)
        def request_again(self, to: int, purpose: str, wanted: frozenset[str]) -> None:
            self._check(to, purpose, wanted)

        def _check(self, to: int, purpose: str, wanted: frozenset[str]) -> None:
            d = self.world.decide(
                self.case, self.recipients[to][0], sorted(wanted), purpose=purpose, at=self.now
            )
            permitted = set(d.permitted_categories)
            expected = self.expected(to, purpose, wanted)
            assert permitted <= set(wanted)
            # the safety property, stated on its own: each permitted category is covered by an
            # active consent of a series never withdrawn and by an agreement in force
            kind = self.recipients[to][1]
            for category in permitted:
                assert any(
                    not s.withdrawn
                    and in_force(s.valid_from, s.valid_until, self.now)
                    and (to in s.organizations or kind in s.kinds)
                    and purpose in s.purposes
                    and category in s.categories
                    for s in self.series
                ), (category, d.reasons)
                assert any(
                    not a.revoked
                    and in_force(a.valid_from, a.valid_until, self.now)
                    and a.to == to
                    and purpose in a.purposes
                    and category in a.categories
                    for a in self.agreements
                ), (category, d.reasons)
            withdrawn_ids = set()
            for s in self.series:
                if s.withdrawn:
                    withdrawn_ids |= s.old_ids | {s.consent_id}
            assert not withdrawn_ids & set(d.consent_ids)
            current = {s.consent_id for s in self.series if not s.withdrawn}
            assert set(d.consent_ids) <= current
            # and the gate is no stricter than the model: a deny means nothing was covered
            assert permitted == (set() if d.outcome is Outcome.deny else expected), d.reasons
            assert (d.outcome is Outcome.deny) == (not expected), d.reasons

        @rule(
            to=recipient,
            purpose=st.sampled_from(PURPOSES),
            wanted=categories,
            basis=st.sampled_from(BASES),
        )
        def request_on_a_basis(
            self, to: int, purpose: str, wanted: frozenset[str], basis: str
        ) -> None:
            d = self.world.decide(
                self.case,
                self.recipients[to][0],
                sorted(wanted),
                purpose=purpose,
                at=self.now,
                legal_basis=basis,
            )
            rule = runtime.policy.legal_bases[basis]
            kind = self.recipients[to][1]
            active = [
                s
                for s in self.series
                if not s.withdrawn and in_force(s.valid_from, s.valid_until, self.now)
            ]
            excluded = any(
                to in s.excluded_organizations or kind in s.excluded_kinds for s in active
            )
            agreed: set[str] = set()
            for a in self.agreements:
                live = not a.revoked and in_force(a.valid_from, a.valid_until, self.now)
                if live and a.to == to and purpose in a.purposes:
                    agreed |= a.categories
            serves = not rule.purposes or purpose in rule.purposes
            expected = (
                set() if excluded or not serves else set(wanted) & set(rule.categories) & agreed
            )
            permitted = set(d.permitted_categories)
            # the safety property: no permit without the officers, never beyond the basis
            assert d.outcome is not Outcome.permit, d.reasons
            assert meaning(runtime.policy, d) is not Answer.proceed, d.reasons
            assert permitted <= set(rule.categories) & agreed & set(wanted), d.reasons
            assert d.consent_ids == () and d.legal_basis == basis
            # and no stricter than the model
            assert permitted == expected, d.reasons
            assert (d.outcome is Outcome.deny) == (not expected), d.reasons
            if d.outcome is Outcome.review:
                assert "legal_basis" in d.codes

        @invariant()
        def model_is_consistent(self) -> None:
            if hasattr(self, "series"):
                ids = [s.consent_id for s in self.series]
                assert len(ids) == len(set(ids))

    return GateMachine


def test_the_gate_never_permits_what_is_not_covered(runtime: Runtime) -> None:
    run_state_machine_as_test(
        make_machine(runtime),
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
