"""Demo cases: a realistic spread of reports across statuses, deadlines and protection.

Every case goes through the same doors as a real one: sealed by ``casework.sealing`` as a
browser would, accepted by ``casework.intake``, moved by ``casework.workflow`` with sealed
grounds, forwarded by ``casework.transfer``. Dates are spread over the last months, so the
inbox shows cases due soon and overdue, and the dashboard has history to chart. Fixed
seed: the same demo every time, and a few follow-up codes to try the reporter's side.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

from casework import access, entry_facts, escalation, followup, intake, transfer, workflow
from casework.dates import UNIT_TIME_ZONE
from casework.recipients import unit_recipients
from casework.records import CaseKeys
from casework.sealing import NewCaseKeys, protection_document, seal_submission
from casework.transcript import NewEntry
from crypto import Argon2Params
from store.models import (
    Case,
    Inspector,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    RetaliationKind,
    Unit,
)

SEED = 2026
SHOWN_CODES = 3  # follow-up codes written to demo.json, to try the reporter's side

# What happens to each demo case after it arrives, in order; "escalate" is the reporter's.
NAMED_PATHS: tuple[tuple[str, ...], ...] = (
    (),  # a named web report whose reporter has not come in yet: the unsigned rules
    ("verify",),
    ("verify", "triage"),
    ("verify", "triage"),
    ("verify", "triage", "accepted"),
    ("verify", "triage", "accepted", "verifying"),
    ("verify", "triage", "accepted", "verifying"),
    ("verify", "triage", "accepted", "verifying", "extend"),
    ("verify", "triage", "accepted", "verifying", "suspended"),
    ("verify", "triage", "not_accepted"),
    ("verify", "triage", "not_accepted", "closed"),
    ("verify", "triage", "accepted", "verifying", "concluded"),
    ("verify", "triage", "accepted", "verifying", "concluded", "handling"),
    ("verify", "triage", "accepted", "verifying", "concluded", "handling", "closed"),
    ("verify", "triage", "accepted", "verifying", "concluded", "handling", "closed"),
    ("verify", "triage", "accepted", "verifying", "terminated", "closed"),
    ("verify", "triage", "withdrawn"),
    ("verify", "escalate"),
    ("verify", "forward"),
    # Forwarded to the commune, then overdue there: its escalation goes to the head of the
    # commune's directly superior unit, the province (LTC Art. 38).
    ("verify", "forward", "escalate"),
)
ANONYMOUS_PATHS: tuple[tuple[str, ...], ...] = (
    (),
    (),
    ("triage",),
    ("triage", "verifying"),
    ("triage", "verifying"),
    ("triage", "archived"),
    ("triage", "archived", "closed"),
    ("triage", "verifying", "archived", "closed"),
    ("triage", "verifying", "archived"),
)

REPORTS: tuple[dict[str, str], ...] = (
    {
        "category": "land-management",
        "what": "Cán bộ địa chính xã nhận tiền để cấp giấy chứng nhận quyền sử dụng đất "
        "cho thửa đất đang tranh chấp.",
        "who": "Một cán bộ địa chính xã",
        "where": "Ủy ban nhân dân xã",
        "when": "Tháng trước",
        "how_known": "Tôi là người nộp hồ sơ và được gợi ý đưa tiền",
        "evidence": "Tin nhắn điện thoại, biên nhận hồ sơ",
    },
    {
        "category": "procurement-public-assets",
        "what": "Gói thầu mua thiết bị cho trung tâm y tế khu vực được chia nhỏ để chỉ định thầu "
        "cho một công ty quen biết, giá cao hơn thị trường.",
        "who": "Ban quản lý dự án",
        "where": "Trung tâm y tế khu vực",
        "when": "Quý vừa rồi",
        "how_known": "Tôi làm việc trong bộ phận kế toán",
        "evidence": "Bảng so sánh giá, quyết định chỉ định thầu",
    },
    {
        "category": "personnel",
        "what": "Kỳ tuyển dụng viên chức có người trúng tuyển không đủ điều kiện văn bằng.",
        "who": "Hội đồng tuyển dụng",
        "where": "Sở",
        "when": "Đầu năm",
        "how_known": "Tôi là thí sinh dự tuyển",
        "evidence": "Danh sách trúng tuyển đã công bố",
    },
    {
        "category": "construction-investment",
        "what": "Công trình đường liên thôn nghiệm thu khi lớp bê tông mỏng hơn thiết kế.",
        "who": "Nhà thầu thi công và cán bộ giám sát",
        "where": "Đường liên thôn",
        "when": "Mùa mưa năm nay",
        "how_known": "Tôi sống cạnh công trình",
        "evidence": "Ảnh chụp mặt cắt đường",
    },
    {
        "category": "natural-resources-environment",
        "what": "Một cơ sở khai thác cát hoạt động ngoài ranh giới được cấp phép, ban đêm.",
        "who": "Chủ cơ sở khai thác",
        "where": "Bãi sông",
        "when": "Nhiều đêm trong tháng",
        "how_known": "Người dân địa phương chứng kiến",
        "evidence": "Ảnh và video ban đêm",
    },
    {
        "category": "finance-budget-tax-customs",
        "what": "Chi tiền hỗ trợ cho các hộ không có thật trong danh sách thụ hưởng.",
        "who": "Cán bộ lao động - thương binh và xã hội xã",
        "where": "Xã",
        "when": "Năm ngoái",
        "how_known": "Tên người thân tôi bị dùng mà không hề nhận tiền",
        "evidence": "Danh sách chi trả",
    },
    {
        "category": "education",
        "what": "Nhà trường thu các khoản ngoài quy định và không có biên lai.",
        "who": "Ban giám hiệu",
        "where": "Trường tiểu học",
        "when": "Đầu năm học",
        "how_known": "Tôi là phụ huynh",
        "evidence": "Thông báo thu tiền",
    },
    {
        "category": "health",
        "what": "Thuốc được cấp cho trạm y tế bị bán ra ngoài.",
        "who": "Một nhân viên kho",
        "where": "Trạm y tế",
        "when": "Vài tháng nay",
        "how_known": "Tôi làm việc ở trạm",
        "evidence": "Sổ xuất kho",
    },
)

# The IDENTITY document as both real paths write it (docs/crypto.md §5): every field of
# the form, trimmed, empty when not filled in.
DEMO_IDENTITY: dict[str, str] = {
    "name": "Người tố cáo (dữ liệu thử)",
    "contact": "0900 000 000",
    "address": "",
    "position": "",
    "notes": "",
}

DEMO_PROTECTION_DETAILS = "Tôi lo bị trù dập ở cơ quan sau khi tố cáo."

GROUNDS = {
    "triage": "Đã đọc, phân loại là tố cáo thuộc thẩm quyền.",
    "accepted": "Đủ điều kiện thụ lý theo Điều 29 Luật Tố cáo.",
    "not_accepted": "Không đủ điều kiện thụ lý: nội dung đã được giải quyết trước đó.",
    "verifying": "Tiến hành xác minh nội dung tố cáo.",
    "suspended": "Tạm đình chỉ chờ kết quả giám định.",
    "terminated": "Đình chỉ: người bị tố cáo đã chết.",
    "concluded": "Kết luận: tố cáo đúng một phần.",
    "handling": "Kiến nghị xử lý kỷ luật và thu hồi tiền.",
    "archived": "Thông tin nặc danh đã được xem xét trong phạm vi thẩm quyền: lưu hồ sơ.",
    "closed": "Kết thúc hồ sơ.",
    "extend": "Vụ việc phức tạp: phải xác minh ở hai địa điểm, gia hạn thời hạn giải quyết.",
    "forward": "Không thuộc thẩm quyền: chuyển đến cơ quan có thẩm quyền.",
    "escalate": "Đã quá hạn mà chưa có phản hồi.",
}
# The law's grounds of the steps taken only on them (casework.legal_grounds), matching the
# words above: a suspension awaiting an expert's result, an extension for two places.
LEGAL_GROUNDS = {"suspended": ("awaiting_expert_result",), "extend": ("several_places",)}


@dataclass(frozen=True)
class DemoPeople:
    unit: Unit
    handler: Inspector  # takes the workflow steps
    head: Inspector  # a custodian: may forward the identity too
    other_unit: Unit | None  # where one case is forwarded
    handler_key: X25519PrivateKey = field(repr=False)  # to sign the steps (protocol 2)
    head_key: X25519PrivateKey = field(repr=False)


@dataclass
class _Plan:
    track_named: bool
    path: tuple[str, ...]
    received_on: date


def add_demo_cases(
    session: Session, people: DemoPeople, code_kdf: Argon2Params, today: date
) -> list[str]:
    """Add the demo cases (not committed); returns follow-up codes of a few of them."""
    rng = random.Random(SEED)  # noqa: S311 - demo dates and choices, not secrets
    plans = [_Plan(True, path, date.min) for path in NAMED_PATHS]
    plans += [_Plan(False, path, date.min) for path in ANONYMOUS_PATHS]
    rng.shuffle(plans)
    codes: list[str] = []
    for index, plan in enumerate(plans):
        # Older cases further along their path; some fresh ones arrive this week.
        age = len(plan.path) * rng.randint(6, 14) + rng.randint(0, 12)
        plan.received_on = today - timedelta(days=age)
        case, keys = _submit(
            session, people.unit, plan, REPORTS[index % len(REPORTS)], rng, code_kdf
        )
        _follow(session, case, keys, plan, people, rng, today)
        if len(codes) < SHOWN_CODES and plan.path and case.unit_id == people.unit.id:
            codes.append(keys.code.display())
    session.flush()
    return codes


def _submit(
    session: Session,
    unit: Unit,
    plan: _Plan,
    report: dict[str, str],
    rng: random.Random,
    code_kdf: Argon2Params,
) -> tuple[Case, NewCaseKeys]:
    keys = NewCaseKeys()
    wants_protection = plan.track_named and rng.random() < 0.4
    protection = (
        frozenset({(ProtectedPerson.REPORTER, rng.choice(list(ProtectionCategory)))})
        if wants_protection
        else frozenset()
    )
    document: dict[str, Any] = {"schema": 1, "language": "vi", **report}
    if protection:
        document["protection"] = protection_document(protection, DEMO_PROTECTION_DETAILS)
    submission = seal_submission(
        keys,
        unit_recipients(session, unit),
        category=report["category"],
        report=document,
        identity={"schema": 1, **DEMO_IDENTITY} if plan.track_named else None,
        protection=protection,
    )
    case = intake.accept(
        session, submission, unit, intake.lookup_hash(submission, code_kdf), plan.received_on
    )
    session.flush()
    return case, keys


def _follow(
    session: Session,
    case: Case,
    keys: NewCaseKeys,
    plan: _Plan,
    people: DemoPeople,
    rng: random.Random,
    today: date,
) -> None:
    on = plan.received_on
    reporter = CaseKeys(case=keys.case_key, signer=keys.signer)
    for step in plan.path:
        if step == "verify":  # the reporter came in person the day it arrived (LTC 22-23)
            workflow.verify_identity(
                case, "in_person", today=on, inspector=people.handler, now=_at(on)
            )
            continue
        on = min(today, on + timedelta(days=rng.randint(2, 9)))
        if step == "escalate":
            on = today  # the case is overdue by now: its triage ran out long ago
            if escalation.may_escalate(case, on):
                text = GROUNDS["escalate"]
                entry = _reporter_entry(session, case, reporter, "escalation", on, text)
                followup.escalate(session, case, entry, on)
        elif step == "forward":
            _forward(session, case, keys, people, on)
        elif step == "withdrawn":
            text = "Tôi rút đơn tố cáo."
            entry = _reporter_entry(session, case, reporter, "withdrawal", on, text)
            followup.withdraw(session, case, entry, on)
        else:
            # The handler's own step (only the unit that holds the case takes one).
            staff = _staff_keys(session, case, people, on)
            grounds = access.seal_note(staff, case, "grounds", GROUNDS.get(step, ""))
            if step == "extend":
                workflow.extend(
                    case,
                    "resolution",
                    inspector=people.handler,
                    today=on,
                    now=_at(on),
                    grounds=grounds,
                    legal_grounds=LEGAL_GROUNDS["extend"],
                )
                continue
            workflow.transition(
                case, step, today=on, inspector=people.handler, now=_at(on), grounds=grounds,
                legal_grounds=LEGAL_GROUNDS.get(step, ()),
            )  # fmt: skip
            on = _maybe_notify(case, people.handler, rng, on, today)
    if case.protections and rng.random() < 0.5:
        kind, when = RetaliationKind.TRANSFER, on - timedelta(days=1)
        text = "Tôi bị điều chuyển công tác sau khi tố cáo."
        facts = entry_facts.retaliation(kind, when)
        entry = _reporter_entry(session, case, reporter, "retaliation", on, text, facts)
        followup.record_retaliation(session, case, kind, entry, when, on)


def _staff_keys(session: Session, case: Case, people: DemoPeople, on: date) -> CaseKeys:
    """The handler's keys, as the review app holds them when the handler takes a step."""
    return access.writer_keys(session, case, people.handler, people.handler_key, on)


def _reporter_entry(
    session: Session,
    case: Case,
    reporter: CaseKeys,
    purpose: str,
    on: date,
    text: str,
    facts: entry_facts.Facts | None = None,
) -> Message:
    """The reporter's words, as the follow-up page writes them (docs/crypto.md §13.5)."""
    entry = NewEntry(purpose, Party.REPORTER, facts=facts or {})
    document = {"schema": 1, "text": text}
    return followup.write_entry(session, case, reporter, entry, document, on)


def _maybe_notify(
    case: Case, handler: Inspector, rng: random.Random, on: date, today: date
) -> date:
    """Most decisions are notified within days; a few notices are left late."""
    if workflow.NOTIFICATION in workflow.recordable(case, handler) and rng.random() < 0.8:
        on = min(today, on + timedelta(days=rng.randint(1, 3)))
        workflow.record(case, workflow.NOTIFICATION, inspector=handler, today=on, now=_at(on))
    return on


def _forward(session: Session, case: Case, keys: NewCaseKeys, people: DemoPeople, on: date) -> None:
    if people.other_unit is None:
        return
    head = access.writer_keys(session, case, people.head, people.head_key, on)
    transfer.forward(
        session,
        case,
        to_unit=people.other_unit,
        inspector=people.head,
        case_key=keys.case_key,
        unit_key=head.unit,
        identity_key=keys.identity_key if case.identity is not None else None,
        grounds=access.seal_note(head, case, "grounds", GROUNDS.get("forward", "")),
        today=on,
        now=_at(on),
    )


def _at(day: date) -> datetime:
    """An inspector's step at 09:30 in the unit's time zone on ``day``."""
    return datetime.combine(day, time(9, 30), tzinfo=UNIT_TIME_ZONE)
