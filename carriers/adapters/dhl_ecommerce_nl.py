"""DHL eCommerce NL (formerly DHL Parcel NL), its API gateway `api-gw.dhlparcel.nl`.

- `GET /track-trace?key=<barcode>+<postcode>[,<barcode>+<postcode>…]`: a JSON array with one
  object per parcel found: `barcode`, `deliveredAt` (ISO 8601, set once delivered),
  `plannedDeliveryTimeframe`, and `events[]` (oldest first) with `category` (DATA_RECEIVED,
  UNDERWAY, CUSTOMS, IN_DELIVERY, INTERVENTION, PROBLEM, EXCEPTION, DELIVERED, …), `status`
  (e.g. PARCEL_SORTED_AT_HUB, OUT_FOR_DELIVERY, DELIVERED_AT_NEIGHBOURS) and `timestamp`.
  404 "No parcel found for the given key(s)" when none of the keys is known.
- Authentication: `POST /authenticate/api-key` with `{"userId", "key"}` gives an
  `accessToken` (JWT, `accessTokenExpiration` in epoch seconds), sent as
  `Authorization: Bearer …`. Track & trace also answers without a token, so without
  credentials the adapter asks anonymously. The token is kept in Django's cache, shared by
  the worker processes, and asked again once on a 401.

Normalised from `status` where it says more than its category (pickup point, neighbours,
returns, failed attempts), else from `category`; `deliveredAt` makes the parcel delivered.
"""

import datetime
import hashlib

from django.core.cache import cache
from django.utils import timezone

from carriers import conf
from carriers.adapters.base import CarrierQuota, HttpCarrierAdapter, TrackingRequest
from carriers.adapters.dhl import dhl_tracking_url
from carriers.adapters.timeparse import parse_iso
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult

S = ShipmentStatus

STATUS_MAP: dict[str, str] = {
    "PRENOTIFICATION_RECEIVED": S.PRE_TRANSIT,
    "DATA_RECEIVED_WITH_PREFIX_LABEL": S.PRE_TRANSIT,
    "PARCEL_PICKED_UP_AT_PARCELSHOP": S.IN_TRANSIT,  # dropped off by the shipper, taken by DHL
    "PARCEL_SORTED_AT_HUB": S.IN_TRANSIT,
    "PARCEL_ARRIVED_AT_LOCAL_DEPOT": S.IN_TRANSIT,
    "PARCEL_RETURNED_FROM_ROUTE": S.IN_TRANSIT,
    "PARCEL_READY_FOR_RETURN_TO_HUB": S.IN_TRANSIT,
    "OUT_FOR_DELIVERY": S.OUT_FOR_DELIVERY,
    "LOAD_VEHICLE": S.OUT_FOR_DELIVERY,
    "PARCEL_WILL_BE_DELIVERED_SOON": S.OUT_FOR_DELIVERY,
    "NOT_HOME_NEW_DELIVERY": S.DELIVERY_FAILED,
    "NEW_DELIVERY_ATTEMPT": S.DELIVERY_FAILED,
    "NOTIFICATION_FOR_PARCELSHOP_COLLECTION_HAS_BEEN_SENT": S.AT_PICKUP_POINT,
    "NOTIFICATION_FOR_PARCELSTATION_COLLECTION_HAS_BEEN_SENT": S.AT_PICKUP_POINT,
    "AWAITING_RECEIVER_COLLECTION": S.AT_PICKUP_POINT,
    "DELIVERED_AT_ACCESSPOINT": S.AT_PICKUP_POINT,
    "DELIVERED_AT_PARCELSTATION": S.AT_PICKUP_POINT,
    "DELIVERED_AT_PARCELSHOP": S.AT_PICKUP_POINT,
    "PARCEL_HELD_FOR_COLLECTION_AT_LOCAL_DEPOT": S.AT_PICKUP_POINT,
    "ON_HOLD_FOR_COLLECTION": S.AT_PICKUP_POINT,
    "COLLECTED_AT_PARCELSHOP": S.DELIVERED,
    "COLLECTED_AT_ACCESSPOINT": S.DELIVERED,
    "COLLECTED_AT_PARCELSTATION": S.DELIVERED,
    "SHIPMENT_COLLECTED": S.DELIVERED,
    "DELIVERED": S.DELIVERED,
    "DELIVERED_AT_NEIGHBOURS": S.DELIVERED,
    "DELIVERED_AT_PREFERED_NEIGHBOURS": S.DELIVERED,
    "DELIVERED_AT_SAFEPLACE": S.DELIVERED,
    "DELIVERED_IN_MAILBOX": S.DELIVERED,
    "DELIVERED_DAMAGED": S.DELIVERED,
    "DELIVERED_NOT_IN_TIME": S.DELIVERED,
    "RETURNED_TO_SHIPPER": S.RETURNED_TO_SENDER,
    "DELIVERED_AT_SHIPPER": S.RETURNED_TO_SENDER,
    "RETURN_DELIVERED_AT_SHIPPER_CALCULATED": S.RETURNED_TO_SENDER,
    "ON_ROUTE_TO_SHIPPER": S.RETURNED_TO_SENDER,
    "NOT_HOME_RETURN_TO_SHIPPER": S.RETURNED_TO_SENDER,
    "MISROUTED_RETURN_TO_SHIPPER": S.RETURNED_TO_SENDER,
    "PARCEL_RELABELED_FOR_RETURN_TO_SHIPPER": S.RETURNED_TO_SENDER,
    "REFUSED_BY_RECEIVER": S.RETURNED_TO_SENDER,
    "ADDRESS_UNKNOWN": S.RETURNED_TO_SENDER,
    "RETURNED_NOT_COLLECTED": S.RETURNED_TO_SENDER,
    "STORAGE_PERIOD_ENDED_AT_PARCELSHOP": S.RETURNED_TO_SENDER,
    "STORAGE_PERIOD_ENDED_AT_ACCESSPOINT": S.RETURNED_TO_SENDER,
    "STORAGE_PERIOD_ENDED_AT_PARCELSTATION": S.RETURNED_TO_SENDER,
}
CATEGORY_MAP: dict[str, str] = {
    "DATA_RECEIVED": S.PRE_TRANSIT,
    "LEG": S.PRE_TRANSIT,
    "UNDERWAY": S.IN_TRANSIT,
    "CUSTOMS": S.IN_TRANSIT,
    "IN_DELIVERY": S.OUT_FOR_DELIVERY,
    "DELIVERED": S.DELIVERED,
    "INTERVENTION": S.EXCEPTION,
    "PROBLEM": S.EXCEPTION,
    "EXCEPTION": S.EXCEPTION,
}

TOKEN_CACHE_PREFIX = "carriers:dhl_ecommerce_nl:token:"  # noqa: S105 - a cache key, not a secret


def dhl_ecommerce_status(status: str | None, category: str | None) -> str:
    status = (status or "").strip().upper()
    if status in STATUS_MAP:
        return STATUS_MAP[status]
    if status.startswith("INTERVENTION_RECEIVER_REQUESTS_"):
        return S.IN_TRANSIT  # the receiver chose another day, address or pickup point
    return CATEGORY_MAP.get((category or "").strip().upper(), S.UNKNOWN)


def _location(entry: dict) -> str:
    for key in ("facility", "location", "city"):
        value = entry.get(key)
        if isinstance(value, dict):
            value = value.get("name") or value.get("city") or value.get("addressLocality")
        if value:
            return str(value).strip()
    return ""


def _event(tracking_code: str, entry: dict) -> TrackingEvent | None:
    moment = str(entry.get("timestamp") or entry.get("localTimestamp") or "").strip()
    status = str(entry.get("status") or "").strip().upper()
    category = str(entry.get("category") or "").strip().upper()
    if not moment or not (status or category):
        return None
    return TrackingEvent(
        tracking_code=tracking_code,
        status=dhl_ecommerce_status(status, category),
        occurred_at=parse_iso(moment),
        carrier_status_code=status or category,
        description=str(entry.get("description") or status.replace("_", " ").capitalize()),
        location=_location(entry),
        raw=entry,
    )


def parse_parcel(parcel: dict, tracking_code: str) -> TrackingResult:
    events = [
        e for entry in (parcel.get("events") or []) if isinstance(entry, dict) and (e := _event(tracking_code, entry))
    ]
    result = TrackingResult.from_events(tracking_code, events)
    delivered_at = str(parcel.get("deliveredAt") or "").strip()
    if delivered_at and result.status != S.RETURNED_TO_SENDER:
        return TrackingResult.from_events(
            tracking_code, events, status=S.DELIVERED, delivered_at=parse_iso(delivered_at)
        )
    return result


def parse_track_trace(body: list, requests: list[TrackingRequest]) -> list[TrackingResult]:
    """The 200 body of `GET /track-trace`: one result per request, matched on the barcode."""
    by_barcode = {
        str(parcel.get("barcode") or "").strip().upper(): parcel
        for parcel in (body if isinstance(body, list) else [])
        if isinstance(parcel, dict)
    }
    results = []
    for request in requests:
        parcel = by_barcode.get(request.tracking_code.upper())
        results.append(
            parse_parcel(parcel, request.tracking_code) if parcel else TrackingResult.not_found(request.tracking_code)
        )
    return results


def dhl_ecommerce_tracking_url(
    tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
) -> str:
    postal = "".join((postal_code or "").split()).upper()
    if postal:
        return f"https://my.dhlecommerce.nl/home/tracktrace/{tracking_code.strip()}/{postal}"
    return dhl_tracking_url(tracking_code, country=country, language=language)


class DHLEcommerceNLAdapter(HttpCarrierAdapter):
    code = "dhl_ecommerce_nl"
    name = "DHL eCommerce NL"
    # The gateway takes a comma-separated list of keys; we send at most 20 per call.
    max_batch_size = 20
    # Not published by DHL eCommerce: conservative defaults, override in CARRIER_QUOTAS.
    default_quota = CarrierQuota(calls_per_second=5, calls_per_day=20_000)
    base_url_setting = "DHL_ECOMMERCE_BASE_URL"

    def __init__(self, *, user_id: str | None = None, api_key: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.user_id = user_id if user_id is not None else conf.get("DHL_ECOMMERCE_USER_ID")
        self.api_key = api_key if api_key is not None else conf.get("DHL_ECOMMERCE_API_KEY")
        self.session.headers.update({"Accept": "application/json"})

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        return dhl_ecommerce_tracking_url(tracking_code, postal_code=postal_code, country=country, language=language)

    @property
    def _token_cache_key(self) -> str:
        digest = hashlib.sha256(f"{self.base_url}|{self.user_id}".encode()).hexdigest()[:16]
        return TOKEN_CACHE_PREFIX + digest

    def _access_token(self, *, renew: bool = False) -> str | None:
        if not (self.user_id and self.api_key):
            return None
        if not renew and (token := cache.get(self._token_cache_key)):
            return token
        response = self._send("POST", "/authenticate/api-key", json={"userId": self.user_id, "key": self.api_key})
        body = self._json(response)
        token = body.get("accessToken") if isinstance(body, dict) else None
        if not token:
            raise self._bad_response()
        expires = body.get("accessTokenExpiration")
        lifetime = 15 * 60
        if isinstance(expires, int | float):
            moment = datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)
            lifetime = int((moment - timezone.now()).total_seconds())
        cache.set(self._token_cache_key, token, timeout=max(30, lifetime - 60))
        return token

    def _get_track_trace(self, key: str, token: str | None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self._send("GET", "/track-trace", params={"key": key}, headers=headers, allow=(401, 404))

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        results = []
        for batch in self.batches(requests):
            key = ",".join(f"{r.tracking_code}+{r.postal_code}" if r.postal_code else r.tracking_code for r in batch)
            token = self._access_token()
            response = self._get_track_trace(key, token)
            if response.status_code == 401 and token:
                response = self._get_track_trace(key, self._access_token(renew=True))
            if response.status_code == 401:
                raise self._auth_error(401)
            if response.status_code == 404:
                results.extend(TrackingResult.not_found(r.tracking_code) for r in batch)
                continue
            body = self._json(response)
            if not isinstance(body, list):
                raise self._bad_response()
            results.extend(parse_track_trace(body, batch))
        return results
