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
    # the recipient's coded answers (the policy's `decline_reasons` and `outcomes`)
    "decline_reasons": {
        "no_capacity": N_("No capacity to take the person"),
        "not_eligible": N_("The person is not eligible for the service"),
        "beneficiary_unreachable": N_("The person could not be reached"),
        "beneficiary_refused": N_("The person refused the service"),
        "other": N_("Another reason"),
    },
    "outcomes": {
        "service_provided": N_("Service provided"),
        "referred_on": N_("Referred on to another service"),
        "beneficiary_unreachable": N_("The person could not be reached"),
        "beneficiary_refused": N_("The person refused the service"),
        "other": N_("Another outcome"),
    },
    # why a case was closed (the policy's `closure_reasons`)
    "closure_reasons": {
        "goals_met": N_("The case plan's goals are met"),
        "transferred": N_("The case was transferred"),
        "person_moved": N_("The person moved away"),
        "unreachable": N_("The person can no longer be reached"),
        "death": N_("The person died"),
        "other": N_("Another reason"),
    },
    # why the owner of a case refuses a transfer request (the policy's
    # `transfer_request_refusals`)
    "transfer_request_refusals": {
        "not_in_best_interests": N_("A transfer is not in the person's best interests"),
        "person_disagrees": N_("The person does not agree to the transfer"),
        "services_ongoing": N_("Services for the person are still under way here"),
        "case_not_identified": N_("We cannot identify the case from what you gave"),
        "case_closed": N_("The case is closed"),
        "other": N_("Another reason"),
    },
    "transfer_request_statuses": {
        "requested": N_("Waiting for the owner's answer"),
        "answered_with_transfer": N_("Answered with a transfer"),
        "refused": N_("Request refused"),
        "withdrawn": N_("Request withdrawn"),
        "expired": N_("Request expired"),
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
        "legal_basis": N_("Asked on a legal basis, without the person's consent"),
    },
    # what a disclosure rests on besides consent (the policy's `legal_bases:`)
    "legal_bases": {
        "consent": N_("Consent"),
        "vital_interest": N_("Vital interest"),
        "best_interests_determination": N_("Best interests determination (BID)"),
        "legal_obligation": N_("Legal obligation"),
    },
    # who was told of a disclosure made without consent, and how (`hub.legal_bases.schemas`)
    "told_whom": {
        "subject": N_("The person"),
        "caregiver": N_("A parent or caregiver"),
    },
    "told_how": {
        "in_person": N_("In person"),
        "phone": N_("By phone"),
        "message": N_("By message"),
        "other": N_("Another way"),
    },
    # what a notification is about (`hub.notifications.service.OBJECT_TYPES`)
    "notification_kinds": {
        "referral": N_("Referral"),
        "transfer": N_("Case transfer"),
        "transfer_request": N_("Transfer request"),
        "person_notice": N_("Informing the person"),
        "review": N_("Review"),
        # an erased case whose data the person's organisation held
        "case": N_("Case"),
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
    # the partner's inbox and transfer offers (hub/console/inbox.py, offers.py)
    "referral_statuses": {
        "pending_review": N_("Waiting for a consent officer"),
        "returned": N_("Sent back for correction"),
        "sent": N_("Sent"),
        "delivered": N_("Delivered"),
        "acknowledged": N_("Acknowledged"),
        "accepted": N_("Accepted"),
        "declined": N_("Declined"),
        "in_progress": N_("In progress"),
        "completed": N_("Completed"),
        "cancelled": N_("Cancelled"),
        "denied": N_("Denied"),
        "failed": N_("Failed"),
    },
    "transfer_statuses": {
        "pending_review": N_("Waiting for a consent officer"),
        "returned": N_("Sent back for correction"),
        # words of their own: a transfer's French agrees in gender, a referral's too
        "sent": N_("Waiting for your answer"),
        "accepted": N_("Transfer accepted"),
        "rejected": N_("Transfer rejected"),
        "completed": N_("Accepted: the case is yours"),
        "cancelled": N_("Transfer cancelled"),
    },
    # a transfer as its sender reads it on the tracking board (hub/console/board.py)
    "sent_transfer_statuses": {
        "pending_review": N_("Waiting for a consent officer"),
        "returned": N_("Sent back for correction"),
        "sent": N_("Waiting for the recipient's answer"),
        "accepted": N_("Transfer accepted"),
        "rejected": N_("Transfer rejected"),
        "completed": N_("Completed: the case moved"),
        "cancelled": N_("Transfer cancelled"),
    },
    "status_reasons": {
        "cancelled_by_sender": N_("Cancelled by the sender"),
        "declined_by_recipient": N_("Declined by the recipient"),
        "rejected_by_recipient": N_("Rejected by the recipient"),
        "consent_withdrawn": N_("The consent was withdrawn"),
        "review_denied": N_("A consent officer denied it"),
        "consent_denied": N_("The consent gate denied it"),
        "review_required": N_("A consent officer must look at it"),
        "undeliverable": N_("It could not be delivered"),
        "ownership_moved": N_("The case changed hands"),
        "review_returned": N_("Sent back for correction"),
        "case_erased": N_("The case's data has been erased"),
        # the deadline job's: never acknowledged, even after the escalation
        "not_acknowledged": N_("Not acknowledged in time"),
    },
    # why the consent gate released nothing at a read (`payload_withheld`, `plan_withheld`)
    "withheld": {
        "consent_denied": N_("The consent gate does not permit this data to be shared now."),
        "review_required": N_(
            "The sender's consent officer must look at this request again before its data "
            "can be shown."
        ),
        "consent_withdrawn": N_(
            "The person withdrew their consent: nothing is shown, and a referral not yet "
            "answered is cancelled."
        ),
        "referral_closed": N_("The referral is closed: its data is no longer shown."),
        "transfer_closed": N_("The transfer is closed: its plan is no longer shown."),
        "case_erased": N_("The case's data has been erased."),
    },
    "channel_kinds": {
        "inbox": N_("Inbox: the organisation reads its referrals from the hub"),
        "webhook": N_("Webhook: the hub posts each referral, signed"),
        "fhir": N_("FHIR: the hub sends a FHIR R4 bundle and reads the Task back"),
    },
    "delivery_statuses": {
        "pending": N_("Being sent"),
        "delivered": N_("Delivered"),
        "dead": N_("Given up"),
        "stopped": N_("Not sent"),
    },
    # why a delivery failed: the connector's code (`hub.connectors.http`), in plain words
    "delivery_failures": {
        "http_error": N_("The partner's system answered with an error"),
        "connect_failed": N_("The partner's server could not be reached"),
        "timeout": N_("The partner's server did not answer in time"),
        "tls_failed": N_("The secure connection (TLS) failed"),
        "protocol_error": N_("The exchange with the partner's server broke off"),
        "redirect_refused": N_("The partner's server redirected elsewhere, which the hub refuses"),
        "destination_refused": N_("The address is one the hub may not connect to"),
        "response_too_large": N_("The partner's answer was too large"),
    },
    # what a client's scope allows (the FHIR scopes are worded by `scope_label`)
    "scopes": {
        "cases:read": N_("Read the organisation's own cases and their disclosures"),
        "cases:write": N_("Create and update the organisation's own cases"),
        "consents:read": N_("Read consent records of the organisation's cases"),
        "consents:write": N_("Record and withdraw consent"),
        "referrals:read": N_("Read referrals sent or received"),
        "referrals:write": N_("Make referrals and move them through their lifecycle"),
        "transfers:read": N_("Read case transfers"),
        "transfers:write": N_("Propose, accept, reject and cancel case transfers"),
        "reviews:decide": N_("Approve or deny requests held for review (consent officers)"),
        "services:write": N_(
            "Add, update and remove the organisation's own services in the directory"
        ),
        "reports:read": N_("Read reports of referrals without personal data (small cells hidden)"),
        "admin": N_("Administer organisations, agreements and clients"),
    },
    # a service's intake capacity in the directory
    "capacities": {
        "open": N_("Open: taking people"),
        "limited": N_("Limited: ask before referring"),
        "full": N_("Full: taking no one"),
    },
    "sexes": {
        "female": N_("Female"),
        "male": N_("Male"),
        "other": N_("Other"),
        "unknown": N_("Not known"),
    },
}

# a service is named like the purpose it serves
LABELS["service_types"] = {k: v for k, v in LABELS["purposes"].items() if k != "case_transfer"}

# the vocabularies of the policy file that have labels here (`vocabularies:` keys)
POLICY_VOCABULARIES = (
    "organization_kinds",
    "data_categories",
    "purposes",
    "service_types",
    "decline_reasons",
    "outcomes",
    "closure_reasons",
    "transfer_request_refusals",
)


def labeller(gettext: Callable[[str], str]) -> Callable[[str, str | None], str]:
    """`label(vocabulary, code)` for templates: the translated label, or the code itself."""

    def label(vocabulary: str, code: str | None) -> str:
        if code is None:
            return ""
        message = LABELS.get(vocabulary, {}).get(code)
        return gettext(message) if message else code

    return label
