"""The directly superior unit: who answers escalations, and no cycles."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from casework.hierarchy import HierarchyError, answering_unit, set_superior
from tests.store.factories import add_unit


def test_the_superior_answers_and_a_unit_without_one_answers_itself(session: Session) -> None:
    province, commune = add_unit(session, "tinh"), add_unit(session, "xa")
    assert answering_unit(commune) is commune
    set_superior(commune, province)
    assert answering_unit(commune) is province
    assert answering_unit(province) is province
    set_superior(commune, None)
    assert answering_unit(commune) is commune


def test_a_long_cycle_is_refused_and_changes_nothing(session: Session) -> None:
    province, ward, office = (
        add_unit(session, "tinh"),
        add_unit(session, "xa"),
        add_unit(session, "so"),
    )
    set_superior(ward, province)
    set_superior(office, ward)
    with pytest.raises(HierarchyError, match=r"cycle \(tinh -> so -> xa -> tinh\)") as refused:
        set_superior(province, office)
    assert refused.value.code == "superior_cycle"
    assert province.superior is None
