"""Words for the policy's codes (purposes, categories, reasons, ...), in the console's languages.

The English label is the gettext message id; `N_` only marks it for extraction (pybabel
extract -k N_), translation happens when a page is rendered. A test checks that every value of
every vocabulary in the policy file has a label here and a French translation.
"""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    return message


LABELS: dict[str, dict[str, str]] = {
    "organization_kinds": {
        "iom_office": N_("IOM office"),
        "government": N_("Government service"),
        "un_agency": N_("UN agency"),
        "ngo": N_("NGO"),
    },
    "data_categories": {
        "identity": N_("Identity"),
        "contact": N_("Contact details"),
        "household": N_("Household"),
        "protection_concerns": N_("Protection concerns"),
        "health": N_("Health"),
        "psychosocial": N_("Psychosocial"),
        "gbv_incident": N_("GBV incident"),
        "child_protection": N_("Child protection"),
        "legal_status": N_("Legal status"),
        "migration_history": N_("Migration history"),
        "documents": N_("Documents"),
    },
    "purposes": {
        "psychosocial_support": N_("Psychosocial support"),
        "medical_care": N_("Medical care"),
        "legal_assistance": N_("Legal assistance"),
        "shelter": N_("Shelter"),
        "child_protection": N_("Child protection"),
        "gbv_response": N_("GBV response"),
        "livelihoods": N_("Livelihoods"),
        "education": N_("Education"),
        "family_tracing": N_("Family tracing"),
        "return_and_reintegration": N_("Return and reintegration"),
        "protection_assistance": N_("Protection assistance"),
        "case_transfer": N_("Case transfer"),
    },
    "urgencies": {
        "emergency": N_("Emergency"),
        "high": N_("High"),
        "normal": N_("Normal"),
    },
    "reasons": {
        "unknown_value": N_("A purpose or category the policy does not know"),
        "case_erased": N_("The case's data has been erased"),
        "nothing_permitted": N_("None of the requested data may be shared"),
        "no_agreement": N_("No data sharing agreement with this recipient"),
        "agreement_not_covering": N_(
            "The data sharing agreement does not cover this purpose or these data"
        ),
        "no_consent": N_("No active consent covers this request"),
        "consent_withdrawn": N_("The consent was withdrawn"),
        "consent_expired": N_("The consent has expired"),
        "recipient_excluded": N_("The consent excludes this recipient"),
        "recipient_not_covered": N_("The consent names other recipients"),
        "purpose_not_covered": N_("The consent covers other purposes"),
        "category_not_covered": N_("Some requested data are not covered and are withheld"),
        "caregiver_consent_missing": N_("A child: the caregiver's consent is missing"),
        "child_assent_missing": N_("A child: the child's assent is missing"),
        "child_consent_missing": N_("A child: the child's own consent is missing"),
        "caregiver_consent_for_adult": N_(
            "An adult: a consent given by a caregiver does not count"
        ),
        "recipient_government": N_("The recipient is a government body"),
        "sensitive_category": N_("Sensitive data would be shared"),
        "verbal_without_witness": N_("Verbal consent recorded without a witness"),
        "stale_consent": N_("The consent was given long ago"),
        "child_case": N_("The person is a child"),
    },
    "age_bands": {
        "under_6": N_("Child under 6"),
        "6_to_14": N_("Child, 6 to 14"),
        "15_to_17": N_("Child, 15 to 17"),
        "adult": N_("Adult"),
        "unknown": N_("Age unknown"),
    },
    "review_statuses": {
        "pending": N_("Waiting"),
        "approved": N_("Approved"),
        "denied": N_("Denied"),
        "returned": N_("Sent back"),
        "withdrawn": N_("Closed: the request was withdrawn"),
    },
    "review_kinds": {
        "referral": N_("Referral"),
        "transfer": N_("Case transfer"),
    },
    "roles": {
        "case_worker": N_("Case worker"),
        "consent_officer": N_("Consent officer"),
        "admin": N_("Administrator"),
    },
    "consent_methods": {
        "written": N_("Written"),
        "verbal": N_("Verbal"),
        "thumbprint": N_("Thumbprint"),
        "electronic": N_("Electronic"),
    },
    "consent_statuses": {
        "active": N_("Active"),
        "superseded": N_("Superseded"),
        "withdrawn": N_("Withdrawn"),
        "expired": N_("Expired"),
        "not_yet_valid": N_("Not yet valid"),
    },
    "given_by": {
        "subject": N_("The person"),
        "caregiver": N_("A caregiver"),
    },
}

# a service is named like the purpose it serves
LABELS["service_types"] = {k: v for k, v in LABELS["purposes"].items() if k != "case_transfer"}

# the vocabularies of the policy file that have labels here (`vocabularies:` keys)
POLICY_VOCABULARIES = ("organization_kinds", "data_categories", "purposes", "service_types")


def labeller(gettext: Callable[[str], str]) -> Callable[[str, str | None], str]:
    """`label(vocabulary, code)` for templates: the translated label, or the code itself."""

    def label(vocabulary: str, code: str | None) -> str:
        if code is None:
            return ""
        message = LABELS.get(vocabulary, {}).get(code)
        return gettext(message) if message else code

    return label
