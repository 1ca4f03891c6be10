"""GLS Track And Trace V1 (api.gls-group.net, OpenAPI 1.0.7).

- OAuth2 client credentials: `POST /oauth2/v2/token` (basic auth with the app's client id
  and secret, `grant_type=client_credentials`) gives a bearer token valid up to 4 hours; it is
  kept in Django's cache, shared by the worker processes, and asked again once on a 401.
- `GET /track-and-trace-v1/tracking/simple/trackids/{unitno,unitno,…}?showEvents=true`,
  at most 10 parcel numbers per call, header `Authorization: Bearer …` and
  `Accept-Language` (EN or DE). Default quota: 500 requests a day (the spec's "Production
  Access"), 429 with an Apigee fault when exceeded.
- 200 `{"parcels": [...]}`: per requested number either `errorCode` (`E_404_01` not found,
  `E_400_03` wrong postal code, …) or `unitno`, `status`, `statusDateTime` and `events[]`
  (newest first) with `code` ("INTIAL.PREADVICE", "DELIVD.PARCELSHOP", …), `city`,
  `postalCode`, `country`, `description`, `eventDateTime` (`2025-02-10T15:13:46+0100`).

Parcel statuses: PLANNEDPICKUP, INPICKUP, PREADVICE → pre_transit; NOTPICKEDUP → exception
(GLS did not collect it from us); INTRANSIT → in_transit; INDELIVERY → out_for_delivery;
DELIVEREDPS → at_pickup_point (delivered at a ParcelShop, the customer still has to collect
it); DELIVERED → delivered; INWAREHOUSE ("stored" at the depot after a failed delivery) and
NOTDELIVERED → delivery_failed; CANCELED → exception; FINAL (history closed) takes the status
of the last event. Event codes are mapped by code, then by category (the part before the
dot); an unknown event code is `unknown`, unless it is the event that set the parcel status.
"""

import base64
import hashlib
from urllib.parse import quote

from django.core.cache import cache

from carriers import conf
from carriers.adapters.base import CarrierQuota, HttpCarrierAdapter, TrackingRequest
from carriers.adapters.timeparse import parse_iso, zone_for_country
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult

S = ShipmentStatus

PARCEL_STATUS: dict[str, str] = {
    "PLANNEDPICKUP": S.PRE_TRANSIT,
    "INPICKUP": S.PRE_TRANSIT,
    "PREADVICE": S.PRE_TRANSIT,
    "NOTPICKEDUP": S.EXCEPTION,
    "INTRANSIT": S.IN_TRANSIT,
    "INDELIVERY": S.OUT_FOR_DELIVERY,
    "DELIVEREDPS": S.AT_PICKUP_POINT,
    "DELIVERED": S.DELIVERED,
    "INWAREHOUSE": S.DELIVERY_FAILED,
    "NOTDELIVERED": S.DELIVERY_FAILED,
    "CANCELED": S.EXCEPTION,
}
EVENT_CODES: dict[str, str] = {
    "INTIAL.PREADVICE": S.PRE_TRANSIT,  # data entered, parcel not yet handed over
    "INTIAL.E48_DATA": S.PRE_TRANSIT,  # provided by the sender for collection
    "INTIAL.NORMAL": S.IN_TRANSIT,  # handed over to GLS
    "DELIVD.PARCELSHOP": S.AT_PICKUP_POINT,
}
EVENT_CATEGORIES: dict[str, str] = {
    "INTIAL": S.PRE_TRANSIT,
    "INBOUD": S.IN_TRANSIT,  # reached a parcel center
    "OUTBOD": S.IN_TRANSIT,  # left a parcel center
    "OUTDEL": S.OUT_FOR_DELIVERY,
    "DELIVD": S.DELIVERED,  # delivered, also collected from a ParcelShop
    "CHANGD": S.IN_TRANSIT,  # a delivery change was carried out
    "CANCEL": S.EXCEPTION,  # parcel data deleted
}
ERROR_CODES = {"E_404_01": "not_found", "E_400_03": "wrong_postal_code"}

TRACK_PATH = "/track-and-trace-v1/tracking/simple/trackids/"
TOKEN_PATH = "/oauth2/v2/token"  # noqa: S105 - a URL path, not a secret
TOKEN_CACHE_PREFIX = "carriers:gls:token:"  # noqa: S105 - a cache key, not a secret


def gls_event_status(code: str | None) -> str:
    code = (code or "").strip().upper()
    if code in EVENT_CODES:
        return EVENT_CODES[code]
    return EVENT_CATEGORIES.get(code.split(".", 1)[0], S.UNKNOWN)


def _event(tracking_code: str, entry: dict, parcel_status: str | None, status_moment: str) -> TrackingEvent | None:
    moment = str(entry.get("eventDateTime") or "").strip()
    code = str(entry.get("code") or "").strip()
    if not moment or not code:
        return None
    country = str(entry.get("country") or "").strip().upper()
    place = " ".join(p for p in (str(entry.get("postalCode") or "").strip(), str(entry.get("city") or "").strip()) if p)
    location = f"{place} ({country})" if place and country else place or country
    status = gls_event_status(code)
    if status == S.UNKNOWN and parcel_status and moment == status_moment:
        status = parcel_status
    return TrackingEvent(
        tracking_code=tracking_code,
        status=status,
        occurred_at=parse_iso(moment, zone=zone_for_country(country)),
        carrier_status_code=code,
        description=str(entry.get("description") or "").strip(),
        location=location,
        raw=entry,
    )


def parse_parcel(parcel: dict, tracking_code: str) -> TrackingResult:
    if parcel.get("errorCode"):
        code = str(parcel["errorCode"]).strip()
        return TrackingResult.not_found(tracking_code, ERROR_CODES.get(code, code.lower()))
    parcel_status = PARCEL_STATUS.get(str(parcel.get("status") or "").strip().upper())
    status_moment = str(parcel.get("statusDateTime") or "").strip()
    events = [
        e
        for entry in reversed(parcel.get("events") or [])
        if isinstance(entry, dict) and (e := _event(tracking_code, entry, parcel_status, status_moment))
    ]
    delivered_at = None
    if parcel_status == S.DELIVERED and status_moment:
        delivered_at = parse_iso(status_moment)
    return TrackingResult.from_events(tracking_code, events, status=parcel_status, delivered_at=delivered_at)


def parse_parcels_response(body: dict, requests: list[TrackingRequest]) -> list[TrackingResult]:
    """The 200 body of the trackids call: one result per request, matched on `requested`."""
    by_number: dict[str, dict] = {}
    for parcel in (body.get("parcels") or []) if isinstance(body, dict) else []:
        if isinstance(parcel, dict):
            for key in (parcel.get("requested"), parcel.get("unitno")):
                if key:
                    by_number.setdefault(str(key).strip().upper(), parcel)
    results = []
    for request in requests:
        parcel = by_number.get(request.tracking_code.upper())
        results.append(
            parse_parcel(parcel, request.tracking_code) if parcel else TrackingResult.not_found(request.tracking_code)
        )
    return results


def gls_tracking_url(
    tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
) -> str:
    page = "pakket-volgen" if language == "nl" else "parcel-tracking"
    return f"https://gls-group.com/{(country or 'NL').upper()}/{language}/{page}?match={quote(tracking_code.strip())}"


class GLSAdapter(HttpCarrierAdapter):
    code = "gls"
    name = "GLS"
    max_batch_size = 10
    # 500 requests a day is the spec's default; GLS gives more on request (CARRIER_QUOTAS).
    default_quota = CarrierQuota(calls_per_second=5, calls_per_day=500)
    base_url_setting = "GLS_BASE_URL"

    def __init__(
        self, *, client_id: str | None = None, client_secret: str | None = None, language: str | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.client_id = client_id if client_id is not None else conf.get("GLS_CLIENT_ID")
        self.client_secret = client_secret if client_secret is not None else conf.get("GLS_CLIENT_SECRET")
        self.language = language or conf.get("GLS_LANGUAGE")
        self.session.headers.update({"Accept": "application/json", "Accept-Language": self.language})

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        return gls_tracking_url(tracking_code, postal_code=postal_code, country=country, language=language)

    @property
    def _token_cache_key(self) -> str:
        return TOKEN_CACHE_PREFIX + hashlib.sha256(f"{self.base_url}|{self.client_id}".encode()).hexdigest()[:16]

    def _access_token(self, *, renew: bool = False) -> str:
        if not renew and (token := cache.get(self._token_cache_key)):
            return token
        credentials = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        response = self._send(
            "POST",
            TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {credentials}"},
            allow=(400,),
        )
        if response.status_code == 400:
            raise self._auth_error(400)
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise self._bad_response()
        try:
            lifetime = int(float(body.get("expires_in") or 3600))
        except (TypeError, ValueError):
            lifetime = 3600
        cache.set(self._token_cache_key, token, timeout=max(30, lifetime - 120))
        return token

    def _track(self, numbers: str, token: str):
        return self._send(
            "GET",
            TRACK_PATH + numbers,
            params={"showEvents": "true"},
            headers={"Authorization": f"Bearer {token}"},
            allow=(401,),
        )

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        self._require(GLS_CLIENT_ID=self.client_id, GLS_CLIENT_SECRET=self.client_secret)
        results = []
        for batch in self.batches(requests):
            numbers = ",".join(quote(r.tracking_code, safe="") for r in batch)
            response = self._track(numbers, self._access_token())
            if response.status_code == 401:
                response = self._track(numbers, self._access_token(renew=True))
                if response.status_code == 401:
                    cache.delete(self._token_cache_key)
                    raise self._auth_error(401)
            body = self._json(response)
            if not isinstance(body, dict):
                raise self._bad_response()
            results.extend(parse_parcels_response(body, batch))
        return results
