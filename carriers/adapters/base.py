"""The one interface every carrier adapter implements, and the HTTP plumbing they share.

An adapter answers "what does the carrier know about these tracking codes?" with
`TrackingResult`s in the normalised vocabulary of `carriers.statuses`. It never touches the
database: the polling service decides what to ask, stores new events and keeps quotas.

Contract of `fetch(requests)`:
- one result per request, in the same order;
- a code the carrier does not know gives `found=False, error_code="not_found"` (not an error);
- anything that makes the whole call fail raises a typed error (`carriers.exceptions`):
  `CarrierRateLimited`, `CarrierUnavailable`, `CarrierAuthError`, `CarrierError`. A call for
  more than `max_batch_size` codes makes several HTTP calls and stops at the first failure, so
  the poller passes at most `max_batch_size` requests at a time and counts
  `calls_needed(len(batch))` against the quota.

Parsing lives in pure module-level functions that take the decoded body, so tests feed the
recorded responses straight in.
"""

import dataclasses
import datetime
import email.utils
import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import requests as http
from django.utils import timezone
from django.utils.translation import gettext

from carriers import conf
from carriers.exceptions import (
    CarrierAuthError,
    CarrierError,
    CarrierNotConfigured,
    CarrierRateLimited,
    CarrierUnavailable,
)
from carriers.statuses import TrackingEvent, TrackingResult

__all__ = [
    "CarrierAdapter",
    "CarrierAuthError",
    "CarrierError",
    "CarrierNotConfigured",
    "CarrierQuota",
    "CarrierRateLimited",
    "CarrierUnavailable",
    "HttpCarrierAdapter",
    "TrackingEvent",
    "TrackingRequest",
    "TrackingResult",
]

logger = logging.getLogger(__name__)

USER_AGENT = "backoffice-carriers/1.0"


def normalise_postal_code(value: str | None) -> str | None:
    if not value:
        return None
    return "".join(value.split()).upper() or None


@dataclasses.dataclass(frozen=True, slots=True)
class TrackingRequest:
    tracking_code: str
    postal_code: str | None = None
    country: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "tracking_code", self.tracking_code.strip())
        object.__setattr__(self, "postal_code", normalise_postal_code(self.postal_code))
        object.__setattr__(self, "country", (self.country or "").strip().upper() or None)


@dataclasses.dataclass(frozen=True, slots=True)
class CarrierQuota:
    """How much a carrier lets us ask: calls per second and per (UTC) day."""

    calls_per_second: int
    calls_per_day: int


class CarrierAdapter(ABC):
    code: str
    name: str
    # Tracking codes per HTTP call.
    max_batch_size: int = 1
    # True when fetch_changes() can list what changed in a period for all our shipments.
    supports_change_feed: bool = False
    default_quota: CarrierQuota = CarrierQuota(calls_per_second=1, calls_per_day=1000)

    @property
    def quota_key(self) -> str:
        """Which entry of settings.CARRIER_QUOTAS overrides `default_quota`."""
        return self.code

    @property
    def quota(self) -> CarrierQuota:
        override = conf.quota_override(self.quota_key)
        return CarrierQuota(
            calls_per_second=int(override.get("calls_per_second", self.default_quota.calls_per_second)),
            calls_per_day=int(override.get("calls_per_day", self.default_quota.calls_per_day)),
        )

    @property
    def calls_per_second(self) -> int:
        return self.quota.calls_per_second

    @property
    def calls_per_day(self) -> int:
        return self.quota.calls_per_day

    def calls_needed(self, count: int) -> int:
        return math.ceil(count / self.max_batch_size) if count > 0 else 0

    def batches(self, requests: Sequence[TrackingRequest]) -> Iterator[list[TrackingRequest]]:
        for start in range(0, len(requests), self.max_batch_size):
            yield list(requests[start : start + self.max_batch_size])

    @abstractmethod
    def tracking_url(
        self, tracking_code: str, *, postal_code: str | None = None, country: str | None = None, language: str = "nl"
    ) -> str:
        """The carrier's public tracking page for the customer."""

    @abstractmethod
    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        """The current state of each requested tracking code (see the module docstring)."""

    def change_feed_calls_needed(self, since: datetime.datetime, until: datetime.datetime) -> int:
        """How many calls fetch_changes(since, until) makes (for the quota)."""
        return 1

    def fetch_changes(self, since: datetime.datetime, until: datetime.datetime) -> list[TrackingResult]:
        """Every shipment of ours whose status changed between `since` and `until`."""
        raise CarrierError(
            gettext("The carrier %(carrier)s has no change feed.") % {"carrier": self.name},
            carrier=self.code,
            code="change_feed_not_supported",
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"


def retry_after_seconds(response: http.Response, default: int) -> int:
    """Seconds to wait from Retry-After (seconds or an HTTP date), else RateLimit-Reset."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value:
        if value.isdigit():
            return max(1, int(value))
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            return max(1, math.ceil((moment - timezone.now()).total_seconds()))
    reset = (response.headers.get("RateLimit-Reset") or response.headers.get("X-RateLimit-Reset") or "").strip()
    if reset.isdigit():
        return max(1, int(reset))
    return max(1, int(default))


class HttpCarrierAdapter(CarrierAdapter):
    """A carrier reached over HTTP through one `requests.Session`, with connect/read timeouts."""

    base_url_setting: str

    def __init__(
        self,
        *,
        session: http.Session | None = None,
        base_url: str | None = None,
        timeout: tuple[float, float] | None = None,
    ):
        self.session = session or http.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.base_url = (base_url or conf.get(self.base_url_setting)).rstrip("/")
        self.timeout = timeout or conf.http_timeout()

    def _require(self, **values: str) -> None:
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise CarrierNotConfigured(
                gettext("The carrier %(carrier)s is not configured: %(missing)s is missing.")
                % {"carrier": self.name, "missing": ", ".join(missing)},
                carrier=self.code,
            )

    def _send(self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs) -> http.Response:
        """Send one request; turn transport failures and error statuses into typed errors.

        2xx and the statuses in `allow` are returned for the caller to read."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except http.Timeout as exc:
            raise CarrierUnavailable(
                gettext("The carrier %(carrier)s did not answer in time.") % {"carrier": self.name},
                carrier=self.code,
                code="carrier_timeout",
            ) from exc
        except http.ConnectionError as exc:
            raise CarrierUnavailable(
                gettext("The carrier %(carrier)s could not be reached.") % {"carrier": self.name},
                carrier=self.code,
                code="carrier_connection_error",
            ) from exc
        except http.RequestException as exc:
            raise CarrierUnavailable(
                gettext("The call to the carrier %(carrier)s failed.") % {"carrier": self.name},
                carrier=self.code,
                code="carrier_unavailable",
            ) from exc
        status = response.status_code
        if 200 <= status < 300 or status in allow:
            return response
        if status == 429:
            raise CarrierRateLimited(
                carrier=self.code,
                retry_after_seconds=retry_after_seconds(response, conf.get("CARRIER_DEFAULT_RETRY_AFTER")),
            )
        if status in (401, 403):
            raise self._auth_error(status)
        if status >= 500 or status == 408:
            raise self._server_error(status)
        raise CarrierError(
            gettext("The carrier %(carrier)s rejected the request (HTTP %(status)s).")
            % {"carrier": self.name, "status": status},
            carrier=self.code,
            code="carrier_request_rejected",
            extra={"status": status, "body": response.text[:500]},
        )

    def _server_error(self, status: int) -> CarrierUnavailable:
        return CarrierUnavailable(
            gettext("The carrier %(carrier)s had a server error (HTTP %(status)s).")
            % {"carrier": self.name, "status": status},
            carrier=self.code,
            code="carrier_server_error",
            extra={"status": status},
        )

    def _auth_error(self, status: int | str) -> CarrierAuthError:
        return CarrierAuthError(
            gettext("The carrier %(carrier)s refused our credentials (%(status)s).")
            % {"carrier": self.name, "status": status},
            carrier=self.code,
            extra={"status": status},
        )

    def _json(self, response: http.Response):
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise self._bad_response() from exc

    def _bad_response(self) -> CarrierUnavailable:
        return CarrierUnavailable(
            gettext("The carrier %(carrier)s sent an answer we cannot read.") % {"carrier": self.name},
            carrier=self.code,
            code="carrier_bad_response",
        )
