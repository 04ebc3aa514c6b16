"""Load and validate the policy file; a malformed policy stops start-up, naming the line.

Three passes, each naming the line of what it refuses: YAML syntax (and duplicate keys, which
YAML would otherwise silently resolve to the last one), the shape (pydantic, `extra="forbid"`),
then the cross-checks between sections (every category named in a rule is in the vocabulary,
every reason code has an effect, the age bands are in order, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError
from pydantic_core import ErrorDetails

from hub.policy.data_life import DataLifeRules
from hub.policy.legal_bases import CONSENT, LegalBasisRule
from hub.policy.retention import Retention
from hub.policy.rules import (
    ALWAYS_DENY,
    ALWAYS_REVIEW,
    Acknowledgement,
    ChildAgeBands,
    Effect,
    FollowUp,
    Reason,
    Reporting,
    ReviewLimits,
    ReviewTriggers,
    ServiceDirectoryRules,
)
from hub.wording import plain_message

# more than this many problems at once is noise: the first ones are enough to start fixing
MAX_REPORTED = 10


# the organisation kind of the hub's operator (`hub.auth.scopes`): reserved, so no policy may
# list it among the kinds partners are
OPERATOR_KIND = "hub_operator"


class PolicyError(Exception):
    pass


class Vocabularies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    organization_kinds: tuple[str, ...] = Field(min_length=1)
    data_categories: tuple[str, ...] = Field(min_length=1)
    purposes: tuple[str, ...] = Field(min_length=1)
    service_types: tuple[str, ...] = Field(min_length=1)
    # the recipient's coded answers: why it declined, how the service ended
    decline_reasons: tuple[str, ...] = Field(min_length=1)
    outcomes: tuple[str, ...] = Field(min_length=1)
    # why a case is closed (`reason` of POST /v1/cases/{id}/close)
    closure_reasons: tuple[str, ...] = Field(
        default=("goals_met", "transferred", "person_moved", "unreachable", "death", "other"),
        min_length=1,
    )
    # why the owner of a case refuses a transfer request (`hub.transfers.requests`)
    transfer_request_refusals: tuple[str, ...] = Field(
        default=(
            "not_in_best_interests",
            "person_disagrees",
            "services_ongoing",
            "case_not_identified",
            "case_closed",
            "other",
        ),
        min_length=1,
    )


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: PositiveInt
    vocabularies: Vocabularies
    sensitive_categories: tuple[str, ...]
    children: ChildAgeBands
    review_triggers: ReviewTriggers
    effects: dict[str, Effect]
    acknowledgement: Acknowledgement
    follow_up: FollowUp
    reviews: ReviewLimits
    reporting: Reporting = Field(default_factory=Reporting)
    service_directory: ServiceDirectoryRules = Field(default_factory=ServiceDirectoryRules)
    data_life: DataLifeRules = Field(default_factory=DataLifeRules)
    # how long the hub keeps a closed case (`hub.retention`)
    retention: Retention = Field(default_factory=Retention)
    # the bases a disclosure may rest on besides consent (`hub.policy.legal_bases`)
    legal_bases: dict[str, LegalBasisRule] = Field(default_factory=dict)

    def effect(self, reason: Reason) -> Effect:
        # a code missing from the table is refused at load; deny is the safe fallback anyway
        return self.effects.get(reason, Effect.deny)


Finding = tuple[tuple[Any, ...], str]


def _cross_checks(policy: Policy) -> Iterator[Finding]:
    """What the shape alone cannot say: (path in the file, message) for each problem."""
    vocab = policy.vocabularies
    for name in type(vocab).model_fields:
        seen: set[str] = set()
        for i, value in enumerate(getattr(vocab, name)):
            if value in seen:
                yield ("vocabularies", name, i), f"{value!r} is listed twice"
            seen.add(value)
    if OPERATOR_KIND in vocab.organization_kinds:
        index = vocab.organization_kinds.index(OPERATOR_KIND)
        yield (
            ("vocabularies", "organization_kinds", index),
            (f"{OPERATOR_KIND!r} is reserved for the hub's operator"),
        )
    for i, category in enumerate(policy.sensitive_categories):
        if category not in vocab.data_categories:
            yield ("sensitive_categories", i), f"{category!r} is not in data_categories"
    kinds = policy.review_triggers.recipient_government.kinds
    for i, kind in enumerate(kinds):
        if kind not in vocab.organization_kinds:
            path = ("review_triggers", "recipient_government", "kinds", i)
            yield path, f"{kind!r} is not in organization_kinds"
    for code, effect in policy.effects.items():
        if code not in Reason.__members__:
            yield ("effects", code), f"{code!r} is not a reason code the gate gives"
        elif Reason(code) in ALWAYS_DENY and effect is not Effect.deny:
            yield ("effects", code), f"{code} must be deny: no policy may let it through"
        elif Reason(code) in ALWAYS_REVIEW and effect is not Effect.review:
            yield ("effects", code), f"{code} must be review: consent officers decide it"
    missing = [code for code in Reason if code not in policy.effects]
    if missing:
        yield ("effects",), "no effect given for: " + ", ".join(missing)
    bands = policy.children
    if not bands.child_assent_from <= bands.child_consent_from:
        yield ("children", "child_consent_from"), "must not be below child_assent_from"
    if not bands.child_consent_from <= bands.caregiver_consent_under:
        yield ("children", "child_consent_from"), "must not be above caregiver_consent_under"
    for section in ("acknowledgement", "reviews", "follow_up.answer", "follow_up.start"):
        limits = policy
        for part in section.split("."):
            limits = getattr(limits, part)
        for urgency in type(limits).model_fields:
            window = limits.window(urgency)
            if window.remind_before_hours >= window.deadline_hours:
                path = (*section.split("."), urgency, "remind_before_hours")
                yield path, "a reminder must come before the deadline"
    offer = policy.follow_up.transfer_acceptance
    if offer.remind_before_hours >= offer.deadline_hours:
        path = ("follow_up", "transfer_acceptance", "remind_before_hours")
        yield path, "a reminder must come before the deadline"
    asked = policy.follow_up.transfer_request
    for urgency, window in [("default", asked.default), *asked.by_urgency.items()]:
        path = ("follow_up", "transfer_request")
        if urgency != "default":
            if urgency not in type(policy.acknowledgement).model_fields:
                yield (*path, "by_urgency", urgency), f"{urgency!r} is not an urgency"
            path = (*path, "by_urgency")
        if window.remind_before_hours >= window.deadline_hours:
            message = "a reminder must come before the deadline"
            yield (*path, urgency, "remind_before_hours"), message
    notify = policy.follow_up.notify
    for step in type(notify).model_fields:
        audiences = notify.audiences(step)
        for i, audience in enumerate(audiences):
            if audience in audiences[:i]:
                yield ("follow_up", "notify", step, i), f"{audience.value!r} is listed twice"
    for purpose in policy.data_life.by_purpose:
        if purpose not in vocab.purposes:
            yield ("data_life", "by_purpose", purpose), f"{purpose!r} is not in purposes"
    for step in ("reminder", "overdue"):
        audiences = getattr(policy.data_life.notify, step)
        for i, audience in enumerate(audiences):
            if audience in audiences[:i]:
                yield ("data_life", "notify", step, i), f"{audience.value!r} is listed twice"
    dated = policy.follow_up.follow_up
    for service_type in dated.days_by_service_type:
        if service_type not in vocab.service_types:
            path = ("follow_up", "follow_up", "days_by_service_type", service_type)
            yield path, f"{service_type!r} is not in service_types"
    for name, basis in policy.legal_bases.items():
        path = ("legal_bases", name)
        if name == CONSENT:
            yield path, f"{CONSENT!r} is the ordinary basis, not one to list"
        for i, category in enumerate(basis.categories):
            if category not in vocab.data_categories:
                yield (*path, "categories", i), f"{category!r} is not in data_categories"
        for i, purpose in enumerate(basis.purposes):
            if purpose not in vocab.purposes:
                yield (*path, "purposes", i), f"{purpose!r} is not in purposes"
    for reason in policy.retention.closed_cases.by_closure_reason:
        if reason not in vocab.closure_reasons:
            path = ("retention", "closed_cases", "by_closure_reason", reason)
            yield path, f"{reason!r} is not in closure_reasons"


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[int, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark.line + 1, f"duplicate key {key.value!r}"
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _line_of(node: yaml.Node, path: tuple[object, ...]) -> int:
    """The 1-based line of what `path` points at: the key's line for a mapping entry (a block
    value starts a line later), the item's for a list entry, and for something missing, the
    line of the nearest enclosing key."""
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if k.value == key), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _where(path: tuple[object, ...]) -> str:
    """A place in the file as its author reads it: `vocabularies.purposes[2]`."""
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    return where


def _said(err: ErrorDetails) -> str:
    # the API's plain words, but a key no section knows is not a "field of this request"
    if err["type"] == "extra_forbidden":
        return "is not a key of this section"
    return plain_message(err)


def _report(source: str, problems: list[tuple[int, str, str]]) -> PolicyError:
    problems.sort(key=lambda p: (p[0], p[1]))
    lines = [
        f"{source}: line {line}: {loc}: {msg}" if loc else f"{source}: line {line}: {msg}"
        for line, loc, msg in problems[:MAX_REPORTED]
    ]
    if len(problems) > MAX_REPORTED:
        lines.append(f"{source}: ... and {len(problems) - MAX_REPORTED} more")
    return PolicyError("\n".join(lines))


def parse_policy(text: str, source: str = "policy") -> Policy:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{source}:{where}: not valid YAML: {exc}") from None
    if node is None:
        raise PolicyError(f"{source}: empty policy file")
    duplicates = [(line, "", msg) for line, msg in _duplicate_keys(node)]
    if duplicates:
        raise _report(source, list(duplicates))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _report(
            source,
            [
                (_line_of(node, tuple(err["loc"])), _where(tuple(err["loc"])), _said(err))
                for err in exc.errors()
            ],
        ) from None
    problems = [(_line_of(node, path), _where(path), msg) for path, msg in _cross_checks(policy)]
    if problems:
        raise _report(source, problems)
    return policy


@lru_cache(maxsize=8)
def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file ({exc.strerror})") from None
    return parse_policy(text, str(path))
