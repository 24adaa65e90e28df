"""What people read for the closed sets of values the public side shows.

Values (category slugs, enum values, statuses) are stable identifiers stored in the
database; their labels are translated text. Labels are lazy, so this module can be imported
outside a request and each use renders in the language of the request at hand. A value
without a label (a category a unit added, a status of a newer profile) is shown as itself
rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from babel.units import format_unit
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from store.models import (
    InspectorRole,
    ProtectedPerson,
    ProtectionCategory,
    RetaliationKind,
)

# The default categories of ``casework.categories``.
CATEGORIES: Mapping[str, LazyString] = {
    "land-management": _l("Land management"),
    "construction-investment": _l("Capital construction and public investment"),
    "planning": _l("Planning"),
    "personnel": _l("Recruitment, appointment and rotation of officials"),
    "procurement-public-assets": _l("Procurement and management of public assets"),
    "natural-resources-environment": _l("Natural resources and environment"),
    "finance-budget-tax-customs": _l("Finance, budget, tax and customs"),
    "health": _l("Health"),
    "education": _l("Education"),
    "other": _l("Other"),
}

PROTECTED_PEOPLE: Mapping[ProtectedPerson, LazyString] = {
    ProtectedPerson.REPORTER: _l("Me, the person reporting"),
    ProtectedPerson.SPOUSE: _l("My husband or wife"),
    ProtectedPerson.PARENT: _l("My father or mother"),
    ProtectedPerson.CHILD: _l("My child"),
}

PROTECTION_KINDS: Mapping[ProtectionCategory, LazyString] = {
    ProtectionCategory.INFORMATION: _l("Keeping identity and personal information secret"),
    ProtectionCategory.JOB: _l("Job and position at work"),
    ProtectionCategory.LIFE_HEALTH: _l("Life and health"),
    ProtectionCategory.PROPERTY: _l("Property"),
    ProtectionCategory.HONOUR: _l("Honour and dignity"),
}

RETALIATION_KINDS: Mapping[RetaliationKind, LazyString] = {
    RetaliationKind.DISMISSAL: _l("Dismissal"),
    RetaliationKind.SUSPENSION: _l("Suspension from work"),
    RetaliationKind.DEMOTION: _l("Demotion"),
    RetaliationKind.TRANSFER: _l("Transfer against my will"),
    RetaliationKind.PAY_CUT: _l("Pay cut"),
    RetaliationKind.NEGATIVE_APPRAISAL: _l("Unfair negative appraisal"),
    RetaliationKind.DISCIPLINARY_ACTION: _l("Disciplinary action"),
    RetaliationKind.INTIMIDATION: _l("Intimidation"),
    RetaliationKind.HARASSMENT: _l("Harassment"),
    RetaliationKind.DISCRIMINATION: _l("Discrimination"),
    RetaliationKind.BLACKLISTING: _l("Blacklisting"),
    RetaliationKind.PROPERTY_DAMAGE: _l("Damage to property"),
    RetaliationKind.REPUTATION_DAMAGE: _l("Damage to reputation"),
    RetaliationKind.THREAT_TO_LIFE_OR_HEALTH: _l("Threats to life or health"),
    RetaliationKind.OTHER: _l("Something else"),
}

# The roles of people who read reports (recipients.CASE_READERS), as the form lists them.
READER_ROLES: Mapping[InspectorRole, LazyString] = {
    InspectorRole.INSPECTOR: _l("inspector"),
    InspectorRole.CUSTODIAN: _l("head of the unit"),  # custodians hold identities
}

# Statuses of the profile vn-denunciation-2018 (DOMAIN.md), as a reporter reads them.
STATUSES: Mapping[str, LazyString] = {
    "received": _l("Received, not yet read"),
    "triage": _l("Being read and classified"),
    "forwarded": _l("Forwarded to the competent body"),
    "not_accepted": _l("Not accepted"),
    "not_handled": _l("Not handled here: the competent body has it"),
    "accepted": _l("Accepted for handling"),
    "verifying": _l("Evidence being verified"),
    "suspended": _l("Paused"),
    "terminated": _l("Ended without a conclusion"),
    "withdrawn": _l("Withdrawn"),
    "concluded": _l("Concluded"),
    "handling": _l("Conclusion being acted on"),
    "archived": _l("Filed without further action"),
    # eu-2019-1937
    "acknowledged": _l("Receipt acknowledged"),
    "investigating": _l("Being followed up"),
    "closed": _l("Closed"),
}

# The clocks of the policy profiles (casework/profiles/*.toml), named by what falls due.
DEADLINES: Mapping[str, LazyString] = {
    "triage": _l("Decision on accepting the report"),
    "decision": _l("Decision on an anonymous report (the unit's target)"),
    "resolution": _l("Resolution"),
    "inspection": _l("Inspection (the unit's target)"),
    "notification": _l("Notice of the decision"),
    "non_acceptance_notice": _l("Notice that the report is not accepted"),
    "accused_notice": _l("Notice of the acceptance to the person accused"),
    "forwarding": _l("Forwarding, and notice of it to the reporter"),
    "handling": _l("Acting on the conclusion"),
    "publication": _l("Publication of the conclusion"),
    "escalation": _l("Demand for a report by the head who answers the escalation"),
    "escalation_report": _l("Report to the head who answers the escalation"),
    "re_denunciation": _l("Review of the re-denunciation by the head who answers it"),
    "extension_notice": _l("Notice of the extension to the parties"),
    "suspension_notice": _l("Notice of the suspension to the parties"),
    "resumption_notice": _l("Notice of the resumption to the parties"),
    "withdrawal_decision": _l("Decision on the withdrawn report"),
    "acknowledgement": _l("Acknowledgement of receipt"),
    "feedback": _l("Feedback to the reporter"),
    "sender_result": _l("Result to the body that sent the report in"),
}

# Steps in a case's history (casework.workflow), for timelines.
EVENTS: Mapping[str, LazyString] = {
    "status_change": _l("Status changed"),
    "extension": _l("Deadline extended"),
    "notification": _l("Reporter and parties notified"),
    "accused_notification": _l("Person accused notified of the acceptance"),
    "extension_notification": _l("Parties notified of the extension"),
    "suspension_notification": _l("Parties notified of the suspension"),
    "resumption_notification": _l("Parties notified of the resumption"),
    "publication": _l("Conclusion published"),
    "escalation": _l("Escalated by the reporter"),
    "escalation_demand": _l("Report demanded by the head who answers the escalation"),
    "escalation_report": _l("Report sent to the head who answers the escalation"),
    "escalation_response": _l("Escalation answered"),
    "re_denunciation": _l("Re-denounced by the reporter"),
    "re_denunciation_decision": _l("Re-denunciation decided"),
    "feedback": _l("Feedback given"),
    "arrival": _l("Arrived by forwarding"),
    "partial_withdrawal": _l("Part of the report withdrawn"),
    "identity_verification": _l("Reporter's identity verified"),
    "protection": _l("Protection changed"),
    "registration": _l("Registered from paper or in person"),
    "sent_in": _l("Registered as sent in by the press or an authority"),
    "result_to_sender": _l("Result sent to the body that sent the report in"),
}


# The grounds the law lists for some decisions (casework.legal_grounds), in its words.
LEGAL_GROUNDS: Mapping[str, LazyString] = {
    # NĐ31 Art. 3(2): the criteria of a complex case.
    "several_places": _l("One matter reported that must be verified in two or more places"),
    "several_contents": _l("Two or more matters reported that must each be verified"),
    "many_people": _l(
        "Several people report the same matter, or it concerns the rights and interests of"
        " many people"
    ),
    "foreign_element": _l(
        "A foreign element: the reporter lives abroad or is a foreigner, the conduct took"
        " place abroad, or it must be verified abroad"
    ),
    "several_bodies": _l("The matter concerns the management responsibility of several bodies"),
    "bodies_disagree": _l("The bodies concerned still hold different views on the matter"),
    "conflicting_evidence": _l(
        "Documents and evidence contradict each other and need time to check, verify and"
        " assess, or the opinion of specialised bodies"
    ),
    # LTC Art. 34(1): the grounds of a suspension.
    "awaiting_other_result": _l(
        "Waiting for another body, organisation or person to settle a question, or for the"
        " outcome of a related matter"
    ),
    "awaiting_expert_result": _l(
        "Waiting for the result of a further or repeated expert examination"
    ),
    # LTC Art. 24(3): why a denunciation is not handled at all.
    "sent_to_competent_body_too": _l(
        "Not within this unit's competence, and sent at the same time to the body that is"
    ),
    "sent_again_after_guidance": _l(
        "Not within this unit's competence, and sent again after the reporter was told"
        " which body to send it to"
    ),
    # LTC Art. 54(2) (and Law 136/2025/QH15): the grounds for ending a protection.
    "case_ended": _l("The case was concluded or terminated"),
    "grounds_ceased": _l("The grounds for the protection no longer exist"),
    "on_request": _l("The protected person asked for it to end"),
    "deliberate_breach": _l("The protected person deliberately breached their duties"),
    # LTC Art. 33(3), NĐ31 Art. 4: going on with a withdrawn denunciation.
    "signs_of_violation": _l("The conduct reported still shows signs of a violation of the law"),
    "withdrawn_under_pressure": _l("The reporter withdrew under threat or after being bribed"),
    "abusive_denunciation": _l(
        "The reporter used the denunciation to slander, insult or harm the person accused"
    ),
}


# How the unit verified who made a named report (LTC Art. 22-23, 29(1)(a)).
VERIFICATION_MEANS: Mapping[str, LazyString] = {
    "in_person": _l("In person"),
    "signed_letter": _l("By a letter the reporter signed or fingerprinted"),
    "other": _l("By other means the unit accepts"),
}


def legal_ground_label(key: str) -> str:
    return str(LEGAL_GROUNDS.get(key, key))


def category_label(slug: str) -> str:
    return str(CATEGORIES.get(slug, slug))


def reader_label(display_name: str, role: InspectorRole) -> str:
    role_label = READER_ROLES.get(role, role.value)
    return str(_l("%(name)s, %(role)s", name=display_name, role=role_label))


# Labels from elsewhere (the policy profiles' own), for values the tables above lack:
# (kind, value, language) -> label. The apps plug them in; this package imports no domain.
LabelSource = Callable[[str, str, str], "str | None"]
_sources: list[LabelSource] = []


def add_label_source(source: LabelSource) -> None:
    if source not in _sources:
        _sources.append(source)


def _from_sources(kind: str, value: str) -> str:
    language = str(get_locale() or "en")
    for source in _sources:
        label = source(kind, value, language)
        if label:
            return label
    return value


def status_label(status: str) -> str:
    known = STATUSES.get(status)
    return str(known) if known is not None else _from_sources("status", status)


def deadline_label(key: str) -> str:
    known = DEADLINES.get(key)
    return str(known) if known is not None else _from_sources("deadline", key)


def event_label(kind: str) -> str:
    return str(EVENTS.get(kind, kind))


_SIZE_UNITS = (
    ("digital-gigabyte", 1024**3),
    ("digital-megabyte", 1024**2),
    ("digital-kilobyte", 1024),
)


def file_size(size: int) -> str:
    """A size in the current language, e.g. "1 GB", "2,5 MB"; rounded down, so a stated
    limit is never more than the real one."""
    for unit, factor in _SIZE_UNITS:
        if size >= factor:
            value = size * 10 // factor / 10
            return str(format_unit(value, unit, "short", "#,##0.#", locale=get_locale()))
    return str(format_unit(size, "digital-byte", "short", locale=get_locale()))


# --- protection and retaliation as staff read them (review app) ---------------------------

# The protected person in the third person: PROTECTED_PEOPLE speaks as the reporter.
PROTECTED_PEOPLE_STAFF: Mapping[ProtectedPerson, LazyString] = {
    ProtectedPerson.REPORTER: _l("The reporter"),
    ProtectedPerson.SPOUSE: _l("The reporter's husband or wife"),
    ProtectedPerson.PARENT: _l("The reporter's father or mother"),
    ProtectedPerson.CHILD: _l("The reporter's child"),
}

# Who recorded something (a request, an incident, a note), by ``Party`` value.
PARTIES: Mapping[str, LazyString] = {
    "reporter": _l("the reporter"),
    "inspector": _l("the unit"),
}

# What the protected person may ask of running protection (casework.protection.ASKS).
PROTECTION_ASKS: Mapping[str, LazyString] = {
    "change": _l("Asks to change the measures"),
    "add": _l("Asks for more measures"),
    "end": _l("Asks to end the protection"),
}


# What both apps say of a record that does not open as written (docs/crypto.md §13.6).
ALTERED_RECORD = _l(
    "This record was altered in storage: it does not open as it was written, or it is not "
    "where it was written. Tell the person responsible for the service."
)

# What a transcript entry is (docs/crypto.md §13.3), shown above its text in both apps.
ENTRY_PURPOSES: Mapping[str, LazyString] = {
    "message": _l("Message"),
    "notice": _l("Notice to the reporter"),
    "withdrawal": _l("Withdrawal of the report"),
    "escalation": _l("Escalation to the head of the superior unit"),
    "re-denunciation": _l("Re-denunciation to the head of the superior unit"),
    "partial-withdrawal": _l("Withdrawal of part of the report"),
    "retaliation": _l("Retaliation reported"),
    "retaliation-note": _l("Added to a retaliation report"),
    "protection-request": _l("Request for protection"),
    "protection-ask": _l("Request about protection in place"),
    "upgrade": _l("Records signed from here on (the case moved to protocol version 2)"),
}


def entry_label(purpose: str) -> str:
    label = ENTRY_PURPOSES.get(purpose)
    return purpose if label is None else str(label)
