"""The service catalogue and the centre kinds, as `jiayuan init` loads them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from jiayuan.kit.errors import Invalid
from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.catalogue.models import ServiceItem


def test_catalogue_has_over_100_items_in_two_levels(session: Session) -> None:
    entries = catalogue.list_items(session)
    groups = {e.code for e in entries if e.parent_code is None}
    items = [e for e in entries if e.parent_code is not None]
    assert len(items) > 100 and len(groups) >= 10
    for item in items:
        assert len(item.code) == 4 and item.code[:2] == item.parent_code and item.parent_code in groups
        assert item.unit_zh and 0 <= item.price_min_fen <= item.price_max_fen
        assert item.round_the_clock or item.hours, item.code
    # Some items are free or low-cost public-welfare services, some around the clock (a plumber at night).
    assert any(i.public_welfare for i in items) and catalogue.get_item(session, "0201").round_the_clock


def test_the_eight_standard_centre_kinds_and_local_ones(session: Session) -> None:
    kinds = catalogue.list_centre_kinds(session)
    assert sum(k.standard for k in kinds) == 8
    assert {"culture", "fitness", "health", "employment", "elderly_disability", "childcare", "safety",
            "community_service"} == {k.code for k in kinds if k.standard}
    assert any(not k.standard for k in kinds)


def test_loading_again_adds_nothing_and_keeps_an_admins_edit(session: Session) -> None:
    item = session.get(ServiceItem, "0401")
    item.price_max_fen = 1200
    session.flush()
    assert catalogue.load_catalogue(session) == 0
    assert session.get(ServiceItem, "0401").price_max_fen == 1200


@pytest.mark.parametrize("code", ["01", "9999", None, 401])
def test_only_items_can_be_ordered(session: Session, code: object) -> None:
    with pytest.raises(Invalid) as err:
        catalogue.get_item(session, code)
    assert err.value.field == "item"
