"""The service's errors: each names the field that failed, as the relay's JSON spells it."""

from __future__ import annotations

from chain.errors import RcmError


class ServiceError(RcmError):
    """A request the relay refuses (HTTP 422 unless a subclass says otherwise)."""

    status_code = 422


class MalformedOrder(ServiceError):
    """The body is not an order file (HTTP 400)."""

    status_code = 400


class DuplicateOrder(ServiceError):
    """The relay holds this order already (HTTP 409)."""

    status_code = 409


class OrderNotFound(ServiceError):
    """No order under this hash or prefix (HTTP 404)."""

    status_code = 404


class TooManyOrders(ServiceError):
    """The maker has as many open orders as the relay keeps for one maker (HTTP 429)."""

    status_code = 429


class BodyTooLarge(ServiceError):
    """A request body beyond what any order file needs (HTTP 413)."""

    status_code = 413


class RelayUnreachable(ServiceError):
    """The client could not reach the relay, or got no answer it understands."""


class AssetNotFound(ServiceError):
    """No dashboard asset of that name (HTTP 404)."""

    status_code = 404


class AssetMissing(ServiceError):
    """A dashboard asset whose npm package is not installed (HTTP 503)."""

    status_code = 503


class RoundNotFound(ServiceError):
    """No such round in the index (HTTP 404)."""

    status_code = 404
