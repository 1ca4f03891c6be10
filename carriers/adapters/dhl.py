"""DHL Shipment Tracking – Unified (developer.dhl.com).

- `GET /track/shipments?trackingNumber=<one code>&language=en[&recipientPostalCode=…]`,
  header `DHL-API-Key`. Production host `https://api-eu.dhl.com`, test `https://api-test.dhl.com`.
- 200: `{"shipments": [{"id", "service", "status", "events": [...], "details": {...}}]}`,
  events newest first. 404: a problem JSON ("No shipment with given tracking number found").
- Quota (NL-RULES §4): 250 calls a day at 1 call/s by default, 1,000 a day at 2/s once
  approved; a 429 lasts until the daily reset. New shipments appear after 10–30 minutes.
- Event times are ISO 8601, sometimes without offset (local time of the event's location).

`statusCode` is one of pre-transit, transit, delivered, failure, unknown. DHL has no separate
code for out-for-delivery, pickup point or return, so those are read from the event's
`status`/`description`/`remark` text (English, German and Dutch wording):
- transit + "out for delivery" wording → out_for_delivery; + "ready at the parcel shop /
  Packstation / service point" → at_pickup_point; + "returned to sender" → returned_to_sender;
- delivered + pickup-point wording without "picked up/collected" → at_pickup_point (the
  customer has not got it yet); + "returned to sender" → returned_to_sender;
- failure + "returned to sender" → returned_to_sender; + failed-attempt wording →
  delivery_failed; else exception.
"""

from urllib.parse import urlencode

from carriers import conf
from carriers.adapters.base import CarrierQuota, HttpCarrierAdapter, TrackingRequest
from carriers.adapters.timeparse import parse_iso, zone_for_country
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult

S = ShipmentStatus

STATUS_CODES = {
    "pre-transit": S.PRE_TRANSIT,
    "transit": S.IN_TRANSIT,
    "delivered": S.DELIVERED,
    "failure": S.EXCEPTION,
    "unknown": S.UNKNOWN,
}

OUT_FOR_DELIVERY_WORDS = (
    "out for delivery",
    "with delivery courier",
    "loaded onto the delivery vehicle",
    "on its way to the recipient",
    "in zustellung",
    "zustellfahrzeug",
    "wird heute zugestellt",
    "bij de bezorger",
    "wordt vandaag bezorgd",
    "onderweg naar de ontvanger",
)
PICKUP_POINT_WORDS = (
    "parcel shop",
    "parcelshop",
    "service point",
    "servicepoint",
    "packstation",
    "parcel locker",
    "pick-up location",
    "pickup location",
    "post office",
    "retail outlet",
    "filiale",
    "paketshop",
    "afhaalpunt",
    "servicepunt",
    "pakketautomaat",
)
READY_WORDS = (
    "ready for pick",
    "ready for collection",
    "available for pick",
    "can be picked up",
    "can be collected",
    "delivered to",
    "arrived at",
    "abholbereit",
    "zur abholung",
    "ligt klaar",
    "kan worden opgehaald",
    "afgeleverd bij",
)
# "will be delivered to a parcel shop" is a plan, not an arrival.
FUTURE_WORDS = ("will be", "is going to", "wird ", "zal ")
PICKED_UP_WORDS = (
    "picked up by",
    "collected by the recipient",
    "collected by the consignee",
    "has been collected",
    "abgeholt",
    "opgehaald door",
)
RETURN_WORDS = (
    "returned to sender",
    "return to sender",
    "returned to shipper",
    "return to shipper",
    "returned to the shipper",
    "returned to the sender",
    "being returned",
    "rücksendung",
    "zurückgesendet",
    "retour afzender",
    "teruggestuurd",
)
FAILED_ATTEMPT_WORDS = (
    "could not be delivered",
    "not be delivered",
    "delivery attempt",
    "recipient not",
    "not at home",
    "nicht angetroffen",
    "nicht zugestellt",
    "niet thuis",
    "niet bezorgd",
    "niet afgeleverd",
)


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


def dhl_status(status_code: str | None, text: str = "") -> str:
    """The normalised status of one DHL event (or shipment status)."""
    base = STATUS_CODES.get((status_code or "").strip().lower(), S.UNKNOWN)
    words = text.lower()
    if base == S.IN_TRANSIT:
        if _has(words, RETURN_WORDS):
            return S.RETURNED_TO_SENDER
        if _has(words, OUT_FOR_DELIVERY_WORDS):
            return S.OUT_FOR_DELIVERY
        if _has(words, PICKUP_POINT_WORDS) and _has(words, READY_WORDS) and not _has(words, FUTURE_WORDS):
            return S.AT_PICKUP_POINT
    elif base == S.DELIVERED:
        if _has(words, RETURN_WORDS):
            return S.RETURNED_TO_SENDER
        if _has(words, PICKUP_POINT_WORDS) and not _has(words, PICKED_UP_WORDS):
            return S.AT_PICKUP_POINT
    elif base == S.EXCEPTION:
        if _has(words, RETURN_WORDS):
            return S.RETURNED_TO_SENDER
        if _has(words, FAILED_ATTEMPT_WORDS):
            return S.DELIVERY_FAILED
    return base


def _location(entry: dict) -> tuple[str, str]:
    address = ((entry.get("location") or {}).get("address")) or {}
    country = str(address.get("countryCode") or "")
    parts = [str(address.get(key) or "").strip() for key in ("addressLocality", "postalCode")]
    text = ", ".join(p for p in parts if p)
    if country:
        text = f"{text} ({country})" if text else country
    return text, country


def _event(tracking_code: str, entry: dict) -> TrackingEvent | None:
    moment = str(entry.get("timestamp") or "").strip()
    if not moment:
        return None
    location, country = _location(entry)
    status_code = str(entry.get("statusCode") or "unknown").strip().lower()
    text = " ".join(str(entry.get(key) or "") for key in ("status", "description", "remark"))
    description = str(entry.get("description") or entry.get("status") or "").strip()
    return TrackingEvent(
        tracking_code=tracking_code,
        status=dhl_status(status_code, text),
        occurred_at=parse_iso(moment, zone=zone_for_country(country)),
        carrier_status_code=status_code,
        description=description,
        location=location,
        raw=entry,
    )


def parse_shipments_response(body: dict, tracking_code: str) -> TrackingResult:
    """The 200 body of `GET /track/shipments`."""
    shipments = [s for s in (body.get("shipments") or []) if isinstance(s, dict)] if isinstance(body, dict) else []
    if not shipments:
        return TrackingResult.not_found(tracking_code)
    wanted = tracking_code.strip().upper()
    shipment = next((s for s in shipments if str(s.get("id", "")).upper() == wanted), shipments[0])
    events = [
        e for entry in (shipment.get("events") or []) if isinstance(entry, dict) and (e := _event(tracking_code, entry))
    ]
    # Some services send only the current status.
    current = shipment.get("status")
    if not events and isinstance(current, dict) and (event := _event(tracking_code, current)):
        events.append(event)
    # DHL lists newest first; reverse so equal moments keep their order once sorted.
    return TrackingResult.from_events(tracking_code, list(reversed(events)))


def dhl_tracking_url(
    tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
) -> str:
    """DHL's tracking page; its path starts with <country>-<language> of the reader (nl-nl)."""
    query = urlencode({"tracking-id": tracking_code.strip(), "submit": "1"})
    return f"https://www.dhl.com/{(country or 'NL').lower()}-{language.lower()}/home/tracking.html?{query}"


class DHLAdapter(HttpCarrierAdapter):
    code = "dhl"
    name = "DHL"
    max_batch_size = 1
    default_quota = CarrierQuota(calls_per_second=1, calls_per_day=250)
    base_url_setting = "DHL_BASE_URL"

    def __init__(self, *, api_key: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.api_key = api_key if api_key is not None else conf.get("DHL_API_KEY")
        self.session.headers.update({"DHL-API-Key": self.api_key, "Accept": "application/json"})

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        return dhl_tracking_url(tracking_code, postal_code=postal_code, country=country, language=language)

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        self._require(DHL_API_KEY=self.api_key)
        results = []
        for request in requests:
            params = {"trackingNumber": request.tracking_code, "language": "en"}
            if request.postal_code:
                params["recipientPostalCode"] = request.postal_code
            response = self._send("GET", "/track/shipments", params=params, allow=(404,))
            if response.status_code == 404:
                results.append(TrackingResult.not_found(request.tracking_code))
                continue
            body = self._json(response)
            if not isinstance(body, dict):
                raise self._bad_response()
            results.append(parse_shipments_response(body, request.tracking_code))
        return results
