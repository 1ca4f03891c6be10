"""DPD NL Shipper Webservices (SOAP 1.1), integrations.dpd.nl.

- LoginService 2.1 `getAuth(delisId, password, messageLanguage)` gives an `authToken` that
  lives 24 hours; DPD asks for one token per day, so it is kept in Django's cache (shared by
  all worker processes) until shortly before `authTokenExpires`.
- ParcelLifeCycleService 2.0 `getTrackingData(parcelLabelNumber)`: one parcel per call, only
  valid 14-digit numbers, no bulk use (DPD's developer guidelines); the token travels in the
  SOAP header `authentication` (delisId, authToken, messageLanguage).
- The answer `trackingresult` has a `shipmentInfo` and `statusInfo` elements, each with
  `status`, `label`, `description`, `statusHasBeenReached`, `isCurrentStatus`, `location`,
  `date`. Only reached statuses with a date are events. DPD NL writes dates as
  `8/17/2021 7:11:26 PM` in the local time of the depot, whose country is in the location
  ("Mechelen (BE)").
- An expired or wrong token is a SOAP fault `authenticationFault`: the token is asked again
  once, then it is a `CarrierAuthError`.

Status names differ per DPD country: DPD NL/BE send PickedUp, BetweenDepots, Depot, Customs,
Warehouse, Consolidation, Courier, ReturningFromDelivery, DeliveryFailure, ParcelShop,
Delivered; the German interface documents ACCEPTED, AT_SENDING_DEPOT, ON_THE_ROAD,
AT_DELIVERY_DEPOT, DELIVERED. Both are mapped; anything else is `unknown`.
"""

import contextlib
import datetime
import hashlib
import re
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from django.core.cache import cache
from django.utils import timezone

from carriers import conf
from carriers.adapters.base import CarrierQuota, HttpCarrierAdapter, TrackingRequest
from carriers.adapters.timeparse import AMSTERDAM, parse_formats, parse_iso, zone_for_country
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult

S = ShipmentStatus

LOGIN_PATH = "/soap/services/LoginService/V2_1"
LOGIN_ACTION = "http://dpd.com/common/service/types/LoginService/2.1/getAuth"
TRACKING_PATH = "/soap/services/ParcelLifeCycleService/V2_0"
TRACKING_ACTION = "http://dpd.com/common/service/types/ParcelLifeCycleService/2.0/getTrackingData"
TOKEN_CACHE_PREFIX = "carriers:dpd:token:"  # noqa: S105 - a cache key, not a secret

# Keys are upper case without underscores, so "PickedUp" and "PICKED_UP" are one key.
STATUS_MAP: dict[str, str] = {
    "SHIPMENT": S.PRE_TRANSIT,
    "ACCEPTED": S.IN_TRANSIT,  # parcel handed to DPD
    "ATSENDINGDEPOT": S.IN_TRANSIT,
    "ONTHEROAD": S.IN_TRANSIT,
    "ATDELIVERYDEPOT": S.IN_TRANSIT,
    "PICKEDUP": S.IN_TRANSIT,
    "BETWEENDEPOTS": S.IN_TRANSIT,
    "DEPOT": S.IN_TRANSIT,
    "CUSTOMS": S.IN_TRANSIT,
    "WAREHOUSE": S.IN_TRANSIT,
    "CONSOLIDATION": S.IN_TRANSIT,
    "COURIER": S.OUT_FOR_DELIVERY,
    "DELIVERYFAILURE": S.DELIVERY_FAILED,
    "RETURNINGFROMDELIVERY": S.DELIVERY_FAILED,  # back at the depot after a failed attempt
    "PARCELSHOP": S.AT_PICKUP_POINT,
    "DELIVERED": S.DELIVERED,
}

DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y, %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
)
PARCEL_NUMBER = re.compile(r"\d{14}")
AUTH_FAULT_TAGS = {"authenticationFault"}


def dpd_status(status: str | None) -> str:
    key = re.sub(r"[^A-Z]", "", (status or "").upper())
    return STATUS_MAP.get(key, S.UNKNOWN)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, name: str):
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element, name: str) -> list:
    return [] if element is None else [c for c in element if _local(c.tag) == name]


def _find(element, name: str):
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def _line(element) -> str:
    """A ContentLine: `<x><content>text</content><bold/><paragraph/></x>`."""
    return _text(_child(element, "content"))


def _item(element) -> str:
    """A ContentItem: an optional label and any number of content lines."""
    return " ".join(t for t in (_line(line) for line in _children(element, "content")) if t)


def parse_dpd_time(value: str, location: str = "") -> datetime.datetime:
    match = re.search(r"\(([A-Z]{2})\)\s*$", location)
    zone = zone_for_country(match.group(1)) if match else AMSTERDAM
    if "T" in value:
        return parse_iso(value, zone=zone)
    return parse_formats(value, DATE_FORMATS, zone=zone)


def parse_tracking_result(root, tracking_code: str) -> TrackingResult:
    """The parsed `getTrackingDataResponse` envelope (an Element)."""
    result = _find(root, "trackingresult")
    if result is None:
        result = _find(root, "trackingResult")
    if result is None:
        return TrackingResult.not_found(tracking_code)
    events = []
    current_status = None
    for info in _children(result, "statusInfo"):
        if _text(_child(info, "statusHasBeenReached")).lower() != "true":
            continue
        status = _text(_child(info, "status"))
        moment = _line(_child(info, "date"))
        if not status or not moment:
            continue
        location = _line(_child(info, "location"))
        event = TrackingEvent(
            tracking_code=tracking_code,
            status=dpd_status(status),
            occurred_at=parse_dpd_time(moment, location),
            carrier_status_code=status,
            description=_item(_child(info, "description")) or _line(_child(info, "label")),
            location=location,
            raw={
                "status": status,
                "label": _line(_child(info, "label")),
                "date": moment,
                "location": location,
                "isCurrentStatus": _text(_child(info, "isCurrentStatus")),
            },
        )
        events.append(event)
        if _text(_child(info, "isCurrentStatus")).lower() == "true" and event.status != S.UNKNOWN:
            current_status = event.status
    if not events:
        return TrackingResult.not_found(tracking_code)
    return TrackingResult.from_events(tracking_code, events, status=current_status)


def soap_fault(root) -> tuple[str, str, bool] | None:
    """(code, message, is_authentication_fault) of a SOAP fault, None when there is none."""
    fault = _find(root, "Fault")
    if fault is None:
        return None
    detail = _child(fault, "detail")
    for element in detail.iter() if detail is not None else []:
        code = _text(_child(element, "errorCode")) or _text(_child(element, "faultCode"))
        if code:
            message = _text(_child(element, "errorMessage")) or _text(_child(element, "message"))
            return code, message, _local(element.tag) in AUTH_FAULT_TAGS
    return _text(_child(fault, "faultcode")), _text(_child(fault, "faultstring")), False


def tracking_envelope(delis_id: str, token: str, language: str, parcel_number: str) -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:ns="http://dpd.com/common/service/types/Authentication/2.0" '
        'xmlns:ns1="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0">'
        "<soapenv:Header><ns:authentication>"
        f"<delisId>{escape(delis_id)}</delisId><authToken>{escape(token)}</authToken>"
        f"<messageLanguage>{escape(language)}</messageLanguage>"
        "</ns:authentication></soapenv:Header>"
        "<soapenv:Body><ns1:getTrackingData>"
        f"<parcelLabelNumber>{escape(parcel_number)}</parcelLabelNumber>"
        "</ns1:getTrackingData></soapenv:Body></soapenv:Envelope>"
    )


def login_envelope(delis_id: str, password: str, language: str) -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:ns="http://dpd.com/common/service/types/LoginService/2.1">'
        "<soapenv:Header/><soapenv:Body><ns:getAuth>"
        f"<delisId>{escape(delis_id)}</delisId><password>{escape(password)}</password>"
        f"<messageLanguage>{escape(language)}</messageLanguage>"
        "</ns:getAuth></soapenv:Body></soapenv:Envelope>"
    )


def dpd_tracking_url(
    tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
) -> str:
    number = "".join(tracking_code.split())
    site = f"https://www.dpdgroup.com/{(country or 'NL').lower()}/mydpd/my-parcels/track"
    return f"{site}?lang={language}&parcelNumber={number}"


class DPDAdapter(HttpCarrierAdapter):
    code = "dpd"
    name = "DPD"
    max_batch_size = 1
    # DPD rate-limits the service without publishing a number: conservative defaults.
    default_quota = CarrierQuota(calls_per_second=2, calls_per_day=10_000)
    base_url_setting = "DPD_BASE_URL"

    def __init__(
        self, *, delis_id: str | None = None, password: str | None = None, language: str | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.delis_id = delis_id if delis_id is not None else conf.get("DPD_DELIS_ID")
        self.password = password if password is not None else conf.get("DPD_PASSWORD")
        self.language = language or conf.get("DPD_MESSAGE_LANGUAGE")

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        return dpd_tracking_url(tracking_code, postal_code=postal_code, country=country, language=language)

    @property
    def _token_cache_key(self) -> str:
        return TOKEN_CACHE_PREFIX + hashlib.sha256(f"{self.base_url}|{self.delis_id}".encode()).hexdigest()[:16]

    def _post(self, path: str, action: str, envelope: str):
        response = self._send(
            "POST",
            path,
            data=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
            allow=(500,),
        )
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError as exc:
            if response.status_code == 500:
                raise self._server_error(500) from exc
            raise self._bad_response() from exc
        return response.status_code, root

    def _auth_token(self, *, renew: bool = False) -> str:
        if not renew and (token := cache.get(self._token_cache_key)):
            return token
        status, root = self._post(LOGIN_PATH, LOGIN_ACTION, login_envelope(self.delis_id, self.password, self.language))
        fault = soap_fault(root)
        if fault is not None:
            code, _message, is_authentication_fault = fault
            if is_authentication_fault or code.upper().startswith("LOGIN"):
                raise self._auth_error(code)
            raise self._server_error(status)
        if status == 500:
            raise self._server_error(500)
        token = _text(_find(root, "authToken"))
        if not token:
            raise self._bad_response()
        lifetime = 23 * 3600
        expires = _text(_find(root, "authTokenExpires"))
        if expires:
            with contextlib.suppress(ValueError):
                lifetime = int((parse_iso(expires, zone=AMSTERDAM) - timezone.now()).total_seconds())
        cache.set(self._token_cache_key, token, timeout=max(60, min(lifetime, 24 * 3600) - 300))
        return token

    def _track(self, parcel_number: str, token: str):
        envelope = tracking_envelope(self.delis_id, token, self.language, parcel_number)
        return self._post(TRACKING_PATH, TRACKING_ACTION, envelope)

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        self._require(DPD_DELIS_ID=self.delis_id, DPD_PASSWORD=self.password)
        results = []
        for request in requests:
            number = "".join(request.tracking_code.split())
            if not PARCEL_NUMBER.fullmatch(number):
                results.append(TrackingResult.not_found(request.tracking_code, "invalid_tracking_code"))
                continue
            status, root = self._track(number, self._auth_token())
            fault = soap_fault(root)
            if fault is not None and fault[2]:
                status, root = self._track(number, self._auth_token(renew=True))
                fault = soap_fault(root)
                if fault is not None and fault[2]:
                    cache.delete(self._token_cache_key)
                    raise self._auth_error(fault[0])
            if fault is not None:
                code = fault[0]
                if not code or code.lower().startswith(("soap:server", "server")):
                    raise self._server_error(500)
                results.append(TrackingResult.not_found(request.tracking_code, f"dpd_{code}".lower()[:64]))
                continue
            if status == 500:
                raise self._server_error(500)
            results.append(parse_tracking_result(root, request.tracking_code))
        return results
