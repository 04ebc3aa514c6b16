"""The CapabilityStatement: what the facade really serves, and how to get a token for it
(SMART's `oauth-uris` extension, from the hub's own OAuth endpoints)."""

from __future__ import annotations

from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementImplementation,
    CapabilityStatementRest,
    CapabilityStatementRestInteraction,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity,
    CapabilityStatementSoftware,
)
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.extension import Extension

from hub import __version__
from hub.auth.server import Authority
from hub.fhir.media import BASE, FHIR_JSON

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SERVICE_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"

# resource → (interactions, search parameters (name, type))
SERVED: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "Task": (
        ("read", "search-type", "create", "update"),
        (
            ("owner", "reference"),
            ("requester", "reference"),
            ("status", "token"),
            ("_lastUpdated", "date"),
            ("_id", "token"),
        ),
    ),
    "ServiceRequest": (
        ("read", "search-type"),
        (
            ("performer", "reference"),
            ("requester", "reference"),
            ("status", "token"),
            ("_lastUpdated", "date"),
            ("_id", "token"),
        ),
    ),
    "Patient": (("read",), ()),
    "Consent": (("read",), ()),
    "Organization": (
        ("read", "search-type"),
        (("name", "string"), ("type", "token"), ("_id", "token")),
    ),
    "HealthcareService": (
        ("read", "search-type"),
        (
            ("name", "string"),
            ("type", "token"),
            ("location", "token"),
            ("organization", "reference"),
            ("_id", "token"),
        ),
    ),
}


# what a conditional create (`If-None-Exist`, `hub.fhir.conditional`) applies to, and how
CONDITIONAL_CREATE = {
    "Task": "Conditional create on the sender's identifier (If-None-Exist: "
    "identifier=<system>|<value>; 200 with the existing Task on one match, 412 on several). "
    "Idempotency-Key honoured.",
    "ServiceRequest": "Created with its Task only (a transaction Bundle or contained in a "
    "POST Task); a transaction entry's ifNoneExist on the sender's identifier is honoured.",
}


def statement(authority: Authority, base_url: str) -> CapabilityStatement:
    oauth = Extension(
        url=OAUTH_URIS,
        extension=[
            Extension(url="token", valueUri=authority.token_endpoint),
            Extension(url="introspect", valueUri=authority.introspection_endpoint),
            Extension(url="revoke", valueUri=authority.revocation_endpoint),
        ],
    )
    resources = [
        CapabilityStatementRestResource(
            type=name,
            interaction=[CapabilityStatementRestResourceInteraction(code=i) for i in interactions],
            searchParam=[
                CapabilityStatementRestResourceSearchParam(name=n, type=t) for n, t in params
            ]
            or None,
            versioning="no-version",
            readHistory=False,
            updateCreate=False,
            conditionalCreate=True if name in CONDITIONAL_CREATE else None,
            documentation=CONDITIONAL_CREATE.get(name),
        )
        for name, (interactions, params) in SERVED.items()
    ]
    return CapabilityStatement(
        status="active",
        date=authority_date(),
        kind="instance",
        software=CapabilityStatementSoftware(name="Referral hub", version=__version__),
        implementation=CapabilityStatementImplementation(
            description="Referral hub FHIR R4 facade", url=base_url.rstrip("/") + BASE
        ),
        fhirVersion="4.0.1",
        format=[FHIR_JSON, "json"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                security=CapabilityStatementRestSecurity(
                    extension=[oauth],
                    service=[
                        CodeableConcept(
                            coding=[Coding(system=SERVICE_SYSTEM, code="SMART-on-FHIR")],
                            text="OAuth 2.0 client credentials (SMART Backend Services)",
                        )
                    ],
                    description="SMART system scopes, v1 (system/Task.read) or v2 "
                    "(system/Task.rs); tokens from the token endpoint.",
                ),
                resource=resources,
                interaction=[CapabilityStatementRestInteraction(code="transaction")],
            )
        ],
    )


def authority_date() -> str:
    """The statement's date: when this version of the facade was written."""
    return "2026-11-29"
