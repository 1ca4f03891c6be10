"""PostNL Shipping Status API v2 (developer.postnl.nl, "Shipping Status webservice").

- `GET /shipment/v2/status/barcode/{barcode}?detail=true&language=NL`, header `apikey`:
  `CompleteStatus.Shipment` with the current `Status` and the history in `OldStatus`
  (without `detail`: `CurrentStatus.Shipment` with only `Status`).
- `GET /shipment/v2/status/{customernumber}/updatedshipments?period=<from>&period=<to>`: the
  change feed, every shipment of the customer number whose status changed in the period
  (at most 2 hours per call, at most 48 hours back; PostNL advises polling every 5–15 min).
- Times are Dutch local time without offset: `07-03-2018 23:20:05` in the status calls,
  `2021-02-26T12:57:15` in the feed.
- PostNL writes empty values as `{}` (and its documentation even as the string `"{}"`), and a
  list of one element sometimes as the element itself.

Normalised from `StatusCode` (NL-RULES §4, PostNL's "T&T status codes" table); an unknown
StatusCode falls back on `PhaseCode` (1 collection → pre_transit, 2 sorting and
3 distribution → in_transit), else `unknown`. Status 99 ("niet van toepassing") is no event.
"""

import datetime
from urllib.parse import quote

from carriers import conf
from carriers.adapters.base import CarrierQuota, HttpCarrierAdapter, TrackingRequest
from carriers.adapters.timeparse import AMSTERDAM, parse_formats, parse_iso
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult

S = ShipmentStatus

STATUS_MAP: dict[str, str] = {
    "1": S.PRE_TRANSIT,  # Zending voorgemeld
    "2": S.IN_TRANSIT,  # Zending in ontvangst genomen
    "3": S.IN_TRANSIT,  # Zending afgehaald (collected by PostNL)
    "4": S.EXCEPTION,  # Zending niet afgehaald
    "5": S.IN_TRANSIT,  # Zending gesorteerd
    "6": S.IN_TRANSIT,  # Zending niet gesorteerd (sorted again in the next run)
    "7": S.OUT_FOR_DELIVERY,  # Zending in distributieproces
    "8": S.DELIVERY_FAILED,  # Zending niet afgeleverd
    "9": S.IN_TRANSIT,  # Zending bij douane
    "11": S.DELIVERED,  # Zending afgeleverd
    "12": S.AT_PICKUP_POINT,  # Zending beschikbaar op afhaallocatie
    "13": S.PRE_TRANSIT,  # Voorgemeld: nog niet aangenomen
    "14": S.EXCEPTION,  # Voorgemeld: definitief niet aangenomen
    "15": S.EXCEPTION,  # Manco collectie (missing)
    "16": S.EXCEPTION,  # Manco sortering
    "17": S.EXCEPTION,  # Manco distributie
    "18": S.EXCEPTION,  # Definitief manco (lost)
    "19": S.EXCEPTION,  # Zending afgekeurd (rejected)
    "20": S.IN_TRANSIT,  # Zending in inklaringsproces (customs clearance)
    "21": S.IN_TRANSIT,  # Zending in voorraad (held in storage)
    "22": S.DELIVERED,  # Zending afgehaald van postkantoor (collected by the customer)
    "23": S.IN_TRANSIT,  # Afhaalopdracht gecollecteerd (a pickup order was collected)
    "27": S.RETURNED_TO_SENDER,  # Retour onbestelbaar
    "28": S.RETURNED_TO_SENDER,  # Retour foutieve aflevercode
    "31": S.IN_TRANSIT,  # Zending klaar voor transport naar land van bestemming
}
PHASE_FALLBACK: dict[str, str] = {"1": S.PRE_TRANSIT, "2": S.IN_TRANSIT, "3": S.IN_TRANSIT}
NOT_APPLICABLE = "99"

CHANGE_FEED_MAX_WINDOW = datetime.timedelta(hours=2)
CHANGE_FEED_MAX_AGE = datetime.timedelta(hours=48)


def _text(value) -> str:
    """PostNL's empty value is `{}` (or "{}"): read it as ""."""
    if value is None or value == {} or value == [] or value == "{}":
        return ""
    return str(value).strip()


def _as_list(value) -> list:
    if value is None or value == {} or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _code(value) -> str:
    text = _text(value)
    return text.lstrip("0") or text


def postnl_status(status_code, phase_code=None) -> str:
    code = _code(status_code)
    if code in STATUS_MAP:
        return STATUS_MAP[code]
    return PHASE_FALLBACK.get(_code(phase_code), S.UNKNOWN)


def parse_postnl_time(value: str) -> datetime.datetime:
    text = _text(value)
    if "T" in text:
        return parse_iso(text, zone=AMSTERDAM)
    return parse_formats(text, ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S.%f", "%d-%m-%Y %H:%M"), zone=AMSTERDAM)


def _status_event(tracking_code: str, status: dict, locations: dict[str, str]) -> TrackingEvent | None:
    code = _code(status.get("StatusCode"))
    moment = _text(status.get("TimeStamp") or status.get("Timestamp"))
    if not code or code == NOT_APPLICABLE or not moment:
        return None
    return TrackingEvent(
        tracking_code=tracking_code,
        status=postnl_status(code, status.get("PhaseCode")),
        occurred_at=parse_postnl_time(moment),
        carrier_status_code=code,
        description=_text(status.get("StatusDescription")),
        location=locations.get(moment, ""),
        raw=status,
    )


def _pick_shipment(container: dict, tracking_code: str) -> dict | None:
    shipments = [s for s in _as_list(container.get("Shipment")) if isinstance(s, dict) and s]
    if not shipments:
        return None
    wanted = tracking_code.upper()
    for shipment in shipments:
        if wanted in (_text(shipment.get("Barcode")).upper(), _text(shipment.get("MainBarcode")).upper()):
            return shipment
    return shipments[0]


def parse_status_response(body: dict, tracking_code: str) -> TrackingResult:
    """The body of `GET /shipment/v2/status/barcode/{barcode}` (with or without detail)."""
    if not isinstance(body, dict):
        return TrackingResult.not_found(tracking_code, "bad_response")
    container = body.get("CompleteStatus") or body.get("CurrentStatus") or {}
    shipment = _pick_shipment(container, tracking_code) if isinstance(container, dict) else None
    if shipment is None:
        return TrackingResult.not_found(tracking_code)
    locations = {
        _text(e.get("TimeStamp")): _text(e.get("RouteName"))
        for e in _as_list(shipment.get("Event"))
        if isinstance(e, dict)
    }
    current = shipment.get("Status") if isinstance(shipment.get("Status"), dict) else {}
    events = []
    for status in [*_as_list(shipment.get("OldStatus")), current]:
        if isinstance(status, dict) and (event := _status_event(tracking_code, status, locations)) is not None:
            events.append(event)
    current_event = _status_event(tracking_code, current, locations) if current else None
    status = current_event.status if current_event and current_event.status != S.UNKNOWN else None
    return TrackingResult.from_events(tracking_code, events, status=status)


def parse_updated_shipments(body: list) -> list[TrackingResult]:
    """The body of the `updatedshipments` feed: one result per barcode, with the status
    changes listed for it."""
    per_barcode: dict[str, list[TrackingEvent]] = {}
    for item in _as_list(body):
        if not isinstance(item, dict):
            continue
        barcode = _text(item.get("Barcode"))
        status = item.get("Status")
        if not barcode or not isinstance(status, dict):
            continue
        event = _status_event(barcode, status, {})
        per_barcode.setdefault(barcode, [])
        if event is not None:
            per_barcode[barcode].append(event)
    return [TrackingResult.from_events(barcode, events) for barcode, events in per_barcode.items()]


def postnl_tracking_url(
    tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
) -> str:
    code = quote(tracking_code.strip(), safe="")
    postal = "".join((postal_code or "").split()).upper()
    if postal:
        destination = f"{code}-{(country or 'NL').upper()}-{quote(postal)}"
        return f"https://jouw.postnl.nl/track-and-trace/{destination}?language={language}"
    return f"https://jouw.postnl.nl/track-and-trace/{code}?language={language}"


def change_feed_windows(
    since: datetime.datetime, until: datetime.datetime, *, now: datetime.datetime | None = None
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The periods to ask for: at most 2 hours each, nothing older than 48 hours before `now`."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be aware datetimes")
    now = now or datetime.datetime.now(tz=datetime.UTC)
    since = max(since, now - CHANGE_FEED_MAX_AGE)
    windows = []
    start = since
    while start < until:
        end = min(start + CHANGE_FEED_MAX_WINDOW, until)
        windows.append((start, end))
        start = end
    return windows


class PostNLAdapter(HttpCarrierAdapter):
    code = "postnl"
    name = "PostNL"
    max_batch_size = 1
    supports_change_feed = True
    # PostNL does not publish a number in the API reference (it answers 429 when too fast):
    # conservative defaults, override with settings.CARRIER_QUOTAS["postnl"].
    default_quota = CarrierQuota(calls_per_second=5, calls_per_day=20_000)
    base_url_setting = "POSTNL_BASE_URL"

    def __init__(self, *, api_key: str | None = None, customer_number: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.api_key = api_key if api_key is not None else conf.get("POSTNL_API_KEY")
        self.customer_number = customer_number if customer_number is not None else conf.get("POSTNL_CUSTOMER_NUMBER")
        self.session.headers.update({"apikey": self.api_key, "Accept": "application/json"})

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        return postnl_tracking_url(tracking_code, postal_code=postal_code, country=country, language=language)

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        self._require(POSTNL_API_KEY=self.api_key)
        results = []
        for request in requests:
            response = self._send(
                "GET",
                f"/shipment/v2/status/barcode/{quote(request.tracking_code, safe='')}",
                params={"detail": "true", "language": "NL"},
                allow=(404,),
            )
            if response.status_code == 404:
                results.append(TrackingResult.not_found(request.tracking_code))
                continue
            body = self._json(response)
            if not isinstance(body, dict):
                raise self._bad_response()
            results.append(parse_status_response(body, request.tracking_code))
        return results

    def change_feed_calls_needed(self, since: datetime.datetime, until: datetime.datetime) -> int:
        return len(change_feed_windows(since, until))

    def fetch_changes(self, since: datetime.datetime, until: datetime.datetime) -> list[TrackingResult]:
        self._require(POSTNL_API_KEY=self.api_key, POSTNL_CUSTOMER_NUMBER=self.customer_number)
        per_barcode: dict[str, list[TrackingEvent]] = {}
        for start, end in change_feed_windows(since, until):
            response = self._send(
                "GET",
                f"/shipment/v2/status/{quote(self.customer_number, safe='')}/updatedshipments",
                params=[
                    ("period", start.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%S")),
                    ("period", end.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%S")),
                ],
            )
            body = self._json(response) if response.content.strip() else []
            if not isinstance(body, list):
                raise self._bad_response()
            for result in parse_updated_shipments(body):
                per_barcode.setdefault(result.tracking_code, []).extend(result.events)
        return [TrackingResult.from_events(barcode, events) for barcode, events in per_barcode.items()]
