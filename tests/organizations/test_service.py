from datetime import timedelta

import pytest

from hub.api.problems import Problem
from hub.audit.models import AuditEntry
from hub.clock import utcnow
from hub.organizations import service
from hub.organizations.schemas import AgreementCreate, OrganizationCreate
from hub.runtime import Runtime
from tests.support.factories import agreement, org


def test_create_validates_kind_and_services_against_the_policy(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        with pytest.raises(Problem) as bad_kind:
            org(db, runtime.policy, "Bank", kind="bank")
        with pytest.raises(Problem) as bad_service:
            org(db, runtime.policy, "NGO", services=["haircuts"])
    assert bad_kind.value.code == "unknown_value"
    assert bad_kind.value.status == 422
    assert bad_service.value.extra["field"] == "services"
    assert "haircuts" not in str(bad_service.value.document())
    assert "psychosocial_support" in bad_service.value.extra["allowed"]


def test_names_are_unique(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        org(db, runtime.policy, "Terre d'accueil")
        with pytest.raises(Problem) as dup:
            org(db, runtime.policy, "Terre d'accueil")
    assert (dup.value.status, dup.value.code) == (409, "name_taken")


def test_only_iom_offices_nest_under_iom_offices(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        country = org(db, runtime.policy, "IOM Niger", kind="iom_office")
        sub = org(db, runtime.policy, "IOM Agadez", kind="iom_office", parent_id=country.id)
        field = org(db, runtime.policy, "IOM Arlit", kind="iom_office", parent_id=sub.id)
        ngo = org(db, runtime.policy, "NGO")
        with pytest.raises(Problem) as ngo_child:
            org(db, runtime.policy, "NGO branch", kind="ngo", parent_id=country.id)
        with pytest.raises(Problem) as under_ngo:
            org(db, runtime.policy, "IOM under NGO", kind="iom_office", parent_id=ngo.id)
        assert service.ancestors(db=db, organization_id=field.id) == [sub.id, country.id]
        assert service.same_hierarchy(db=db, a=field.id, b=country.id)
        assert not service.same_hierarchy(db=db, a=field.id, b=ngo.id)
        other = org(db, runtime.policy, "IOM Mali", kind="iom_office")
        assert not service.same_hierarchy(db=db, a=field.id, b=other.id)
    assert ngo_child.value.code == under_ngo.value.code == "invalid_parent"


def test_agreements_in_force_respect_dates_and_direction(runtime: Runtime) -> None:
    now = utcnow()
    with runtime.sessions.begin() as db:
        a = org(db, runtime.policy, "A", kind="iom_office")
        b = org(db, runtime.policy, "B")
        agreement(db, runtime.policy, a.id, b.id, ["psychosocial_support"], ["identity"])
        service.create_agreement(
            db=db,
            policy=runtime.policy,
            actor="test",
            data=AgreementCreate(
                from_organization_id=a.id,
                to_organization_id=b.id,
                purposes=["shelter"],
                categories=["contact"],
                valid_from=now + timedelta(days=10),
            ),
        )
        soon = utcnow()
        assert len(service.agreements_in_force(db=db, from_id=a.id, to_id=b.id, at=soon)) == 1
        later = now + timedelta(days=11)
        assert len(service.agreements_in_force(db=db, from_id=a.id, to_id=b.id, at=later)) == 2
        assert service.agreements_in_force(db=db, from_id=b.id, to_id=a.id, at=later) == []
    with runtime.sessions() as db:
        actions = [e.action for e in db.query(AuditEntry).order_by(AuditEntry.seq)]
    assert actions.count("agreement.created") == 2


def test_agreement_input_is_checked(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        a = org(db, runtime.policy, "A")
        with pytest.raises(Problem) as same:
            agreement(db, runtime.policy, a.id, a.id, ["shelter"], ["identity"])
        with pytest.raises(Problem) as missing:
            agreement(db, runtime.policy, a.id, "nope", ["shelter"], ["identity"])
        with pytest.raises(Problem) as vocab:
            agreement(db, runtime.policy, a.id, "nope", ["shelter"], ["blood_type"])
    assert same.value.code == "invalid_agreement"
    assert missing.value.status == 404
    assert vocab.value.code == "unknown_value"
    with pytest.raises(ValueError, match="valid_until"):
        AgreementCreate(
            from_organization_id="a",
            to_organization_id="b",
            purposes=["shelter"],
            categories=["identity"],
            valid_from=utcnow(),
            valid_until=utcnow() - timedelta(days=1),
        )


def test_organization_schema_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError):
        OrganizationCreate(name="x", kind="ngo", colour="blue")  # type: ignore[call-arg]
