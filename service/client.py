"""A client of the order relay: posts order files and reads orders, books, trades, an item's
prices and the price index. A relay that cannot be reached, or that refuses, raises one
`ServiceError` naming the field."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from service.errors import RelayUnreachable, ServiceError
from service.models import (
    BookPublic,
    HealthPublic,
    ItemPricesPublic,
    OrderPublic,
    PostedPublic,
    PriceIndexPublic,
    TradePublic,
)
from tokens.trade import OrderFile

TIMEOUT_SECONDS = 10.0


class RelayClient:
    """`http` replaces the HTTP client (a test's in-process app)."""

    def __init__(self, url: str, http: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = http or httpx.Client(base_url=self.url, timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        self.http.close()

    def health(self) -> HealthPublic:
        return HealthPublic.model_validate(self._request("GET", "/health"))

    def post_order(self, file: OrderFile) -> PostedPublic:
        body = file.model_dump_json(exclude_none=True)
        return PostedPublic.model_validate(self._request(
            "POST", "/orders", content=body, headers={"content-type": "application/json"}))

    def order(self, hash_or_prefix: str) -> OrderPublic:
        return OrderPublic.model_validate(self._request("GET", f"/orders/{hash_or_prefix}"))

    def book(self, item: int, round_id: int) -> BookPublic:
        return BookPublic.model_validate(
            self._request("GET", "/book", params={"item": item, "round": round_id}))

    def trades(self, item: int | None = None, round_id: int | None = None) -> list[TradePublic]:
        params = {key: value for key, value in (("item", item), ("round", round_id))
                  if value is not None}
        found = self._request("GET", "/trades", params=params)
        try:
            return [TradePublic.model_validate(trade) for trade in found]
        except (TypeError, ValidationError) as exc:
            raise self._garbled(exc) from None

    def item_prices(self, item: str) -> ItemPricesPublic:
        """The prices of the item `item` names (its label, or `ROUND:INDEX`), oldest first."""
        found = self._request("GET", "/prices/history", params={"item": item})
        try:
            return ItemPricesPublic.model_validate(found)
        except ValidationError as exc:
            raise self._garbled(exc) from None

    def price_index(self, resource: str | None = None, region: str | None = None
                    ) -> PriceIndexPublic:
        """The index of each resource and region (of `resource`, in `region`, when given)."""
        params = {key: value for key, value in (("resource", resource), ("region", region))
                  if value is not None}
        found = self._request("GET", "/prices/index", params=params)
        try:
            return PriceIndexPublic.model_validate(found)
        except ValidationError as exc:
            raise self._garbled(exc) from None

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RelayUnreachable(f"no relay answers at {self.url} ({exc})",
                                   field="relay") from None
        try:
            body = response.json()
        except ValueError:
            raise self._garbled(response.text[:80]) from None
        if response.is_success:
            return body
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            error = ServiceError(_reason(body), field=body.get("field"))
            error.status_code = response.status_code
            raise error
        raise self._garbled(body)

    def _garbled(self, what: object) -> RelayUnreachable:
        return RelayUnreachable(f"{self.url} answered what no relay does: {what}",
                                field="relay")


def _reason(body: dict[str, Any]) -> str:
    """The relay's detail without the field it starts with (the error adds it back)."""
    detail, field = body["detail"], body.get("field")
    return detail.removeprefix(f"{field}: ") if field else detail
