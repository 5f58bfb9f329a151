"""What an order's people hear, through the outbox (sent by the worker after the transaction commits): the
resident in-app or the hotline caller by SMS; the provider's staff in-app; the district's 12343 operators in-app
when nobody accepts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.kit.scope import Scope
from jiayuan.notify.service import queue_message
from jiayuan.services.catalogue.service import get_item
from jiayuan.services.orders.models import ServiceOrder
from jiayuan.services.orders.service import staff_of
from jiayuan.services.providers.models import Provider

CUSTOMER_TEXT = {
    "accept": "【家园】您的服务订单 {number}（{item}）已由 {provider} 接单，服务人员会按约定时间上门。",
    "start": "【家园】您的服务订单 {number}（{item}）已开始服务。",
    "complete": "【家园】您的服务订单 {number}（{item}）已完成，欢迎评价（1–5 星）。",
    "provider_cancel": "【家园】{provider} 取消了您的服务订单 {number}（{item}），我们正在为您另找服务商。",
    "unassigned": "【家园】您的服务订单 {number}（{item}）暂无服务商接单，12343 热线会为您安排。",
    "cancel": "【家园】您的服务订单 {number}（{item}）已取消。",
}
PROVIDER_TEXT = {
    "offer": "新订单 {number}：{item}，请在 {minutes} 分钟内接单或拒绝。",
    "cancel": "订单 {number}（{item}）已被取消：{reason}",
    "withdrawn": "订单 {number}（{item}）已由其他服务商接单。",
}
OPERATOR_TEXT = "订单 {number}（{item}）无服务商接单，请人工派单。"


def _item_name(session: Session, order: ServiceOrder) -> str:
    try:
        return get_item(session, order.item_code).name_zh
    except Exception:  # noqa: BLE001 - an item retired since the order still has a number to quote
        return order.item_code


def tell_customer(session: Session, order: ServiceOrder, key: str, provider: Provider | None = None) -> None:
    """The resident in-app, or the caller of a hotline order by SMS."""
    body = CUSTOMER_TEXT[key].format(number=order.number, item=_item_name(session, order),
                                     provider=provider.name if provider else "")
    if order.resident_id is not None:
        queue_message(session, district_code=order.district_code, channel="inapp", recipient=str(order.resident_id),
                      user_id=order.resident_id, body=body, ref=order.number)
    elif order.contact_phone:
        queue_message(session, district_code=order.district_code, channel="sms", recipient=order.contact_phone,
                      body=body, ref=order.number)


def tell_provider(session: Session, order: ServiceOrder, provider: Provider, key: str, *, minutes: int = 0,
                  reason: str = "") -> None:
    body = PROVIDER_TEXT[key].format(number=order.number, item=_item_name(session, order), minutes=minutes,
                                     reason=reason)
    for user_id in staff_of(session, provider):
        queue_message(session, district_code=order.district_code, channel="inapp", recipient=str(user_id),
                      user_id=user_id, body=body, ref=order.number)


def alert_operators(session: Session, order: ServiceOrder) -> int:
    """An in-app alert to every 12343 operator of the order's district; returns how many were told."""
    body = OPERATOR_TEXT.format(number=order.number, item=_item_name(session, order))
    told = 0
    for user in accounts.list_users(session, Scope((order.district_code,)), role="hotline_operator", limit=500):
        if user.is_active:
            queue_message(session, district_code=order.district_code, channel="inapp", recipient=str(user.id),
                          user_id=user.id, body=body, ref=order.number)
            told += 1
    return told
