"""Settings of the carriers app, read when used (so `override_settings` works in tests).

Each value comes from `django.conf.settings` when set there, else the default below. The
lead adds the environment variables to `backoffice/settings.py`; see the app's report.
"""

from typing import Any

from django.conf import settings

BACKEND_SIMULATOR = "simulator"
BACKEND_LIVE = "live"

DEFAULTS: dict[str, Any] = {
    # Which implementation serves the carrier codes: "simulator" (every carrier simulated,
    # the default, for demo and tests) or "live" (the carriers' real APIs).
    "CARRIER_BACKEND": BACKEND_SIMULATOR,
    # Per carrier code, overrides CARRIER_BACKEND, e.g. {"postnl": "live"}.
    "CARRIER_BACKENDS": {},
    "CARRIER_HTTP_CONNECT_TIMEOUT": 5.0,
    "CARRIER_HTTP_READ_TIMEOUT": 20.0,
    # Used when a carrier answers 429 without saying how long to wait.
    "CARRIER_DEFAULT_RETRY_AFTER": 60,
    # Backoff after errors: base * 2^(failures - 1), at most max (a Retry-After is honoured).
    "CARRIER_BACKOFF_BASE_SECONDS": 30,
    "CARRIER_BACKOFF_MAX_SECONDS": 3600,
    # Per quota key ("postnl", "dhl", …, "simulator"): {"calls_per_second": n, "calls_per_day": n}.
    "CARRIER_QUOTAS": {},
    # Simulated outages, per carrier code: "timeout" | "server_error" | "rate_limited" | "auth"
    # or {"mode": …, "probability": 0.3, "retry_after": 120}.
    "CARRIER_SIMULATOR_FAULTS": {},
    # PostNL Shipping Status API v2
    "POSTNL_API_KEY": "",
    "POSTNL_CUSTOMER_NUMBER": "",
    "POSTNL_BASE_URL": "https://api-sandbox.postnl.nl",
    # DHL Shipment Tracking – Unified
    "DHL_API_KEY": "",
    "DHL_BASE_URL": "https://api-test.dhl.com",
    # DHL eCommerce NL (DHL Parcel NL API gateway)
    "DHL_ECOMMERCE_USER_ID": "",
    "DHL_ECOMMERCE_API_KEY": "",
    "DHL_ECOMMERCE_BASE_URL": "https://api-gw-accept.dhlparcel.nl",
    # DPD NL Shipper Webservices (SOAP)
    "DPD_DELIS_ID": "",
    "DPD_PASSWORD": "",
    "DPD_BASE_URL": "https://shipperadmintest.dpd.nl/PublicAPI",
    "DPD_MESSAGE_LANGUAGE": "nl_NL",
    # GLS Track And Trace V1 (OAuth2 client credentials)
    "GLS_CLIENT_ID": "",
    "GLS_CLIENT_SECRET": "",
    "GLS_BASE_URL": "https://api-sandbox.gls-group.net",
    "GLS_LANGUAGE": "EN",
}


def get(name: str) -> Any:
    if name not in DEFAULTS:
        raise KeyError(f"Unknown carriers setting {name}")
    return getattr(settings, name, DEFAULTS[name])


def backend_for(carrier_code: str) -> str:
    per_carrier = get("CARRIER_BACKENDS") or {}
    return per_carrier.get(carrier_code) or get("CARRIER_BACKEND")


def http_timeout() -> tuple[float, float]:
    return float(get("CARRIER_HTTP_CONNECT_TIMEOUT")), float(get("CARRIER_HTTP_READ_TIMEOUT"))


def quota_override(quota_key: str) -> dict:
    return (get("CARRIER_QUOTAS") or {}).get(quota_key) or {}


def simulator_fault(carrier_code: str) -> dict | None:
    fault = (get("CARRIER_SIMULATOR_FAULTS") or {}).get(carrier_code)
    if not fault:
        return None
    if isinstance(fault, str):
        return {"mode": fault}
    return dict(fault)
