"""Settings of the payments app, read when used (so tests can override them).

Each is `getattr(django.conf.settings, NAME, default)`; none has to be in settings.py.

| setting | default | meaning |
| --- | --- | --- |
| PAYMENT_PROVIDER_BACKEND | "simulator" | "simulator": the built-in simulator serves every provider |
|                          |             | code (demo, development, tests); "live": the real providers (Mollie) |
| MOLLIE_API_KEY | "" | `live_…` or `test_…` key of the Mollie website profile |
| MOLLIE_API_ENDPOINT | "https://api.mollie.com/v2" | Mollie API base URL |
| MOLLIE_TIMEOUT | (5, 30) | connect and read timeout in seconds for calls to Mollie |
| PAYMENT_SIMULATOR_EXPIRY_MINUTES | 15 | an open simulated payment expires after this long |
| PAYMENT_SIMULATOR_WEBHOOK_TIMEOUT | 10 | seconds the simulator waits for a webhook receiver |
| BANK_STATEMENT_MAX_BYTES | 50 MB | bigger statement files are refused |
| PAYMENT_LINK_PROVIDER | "mollie" | the provider that makes payment links for what is still due |
| PAYMENT_LINK_VALID_DAYS | 14 | a payment link can be paid for this many days |
| PAYMENT_RETURN_URL | SITE_URL + "/" | where a customer lands after paying a link |
| PAYMENT_WEBHOOK_THROTTLE_RATE | "600/min" | webhook calls per IP address |
| PAYMENT_JOURNAL_ACCOUNTS | see JOURNAL_ACCOUNTS | account codes of the journal export |
"""

from django.conf import settings

BACKEND_SIMULATOR = "simulator"
BACKEND_LIVE = "live"


def provider_backend() -> str:
    return str(getattr(settings, "PAYMENT_PROVIDER_BACKEND", BACKEND_SIMULATOR) or BACKEND_SIMULATOR).strip().lower()


def simulator_enabled() -> bool:
    return provider_backend() == BACKEND_SIMULATOR


def mollie_api_key() -> str:
    return str(getattr(settings, "MOLLIE_API_KEY", "") or "").strip()


def mollie_api_endpoint() -> str:
    return str(getattr(settings, "MOLLIE_API_ENDPOINT", "https://api.mollie.com/v2")).rstrip("/")


def mollie_timeout() -> tuple[float, float]:
    value = getattr(settings, "MOLLIE_TIMEOUT", (5, 30))
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    connect, read = value
    return (float(connect), float(read))


def simulator_expiry_minutes() -> int:
    return int(getattr(settings, "PAYMENT_SIMULATOR_EXPIRY_MINUTES", 15))


def simulator_webhook_timeout() -> float:
    return float(getattr(settings, "PAYMENT_SIMULATOR_WEBHOOK_TIMEOUT", 10))


def site_url() -> str:
    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def statement_max_bytes() -> int:
    return int(getattr(settings, "BANK_STATEMENT_MAX_BYTES", 50 * 1024 * 1024))


def payment_link_provider() -> str:
    return str(getattr(settings, "PAYMENT_LINK_PROVIDER", "mollie") or "mollie").strip().lower()


def payment_link_valid_days() -> int:
    return int(getattr(settings, "PAYMENT_LINK_VALID_DAYS", 14))


def payment_return_url() -> str:
    return str(getattr(settings, "PAYMENT_RETURN_URL", "") or f"{site_url()}/")


def webhook_throttle_rate() -> str:
    return str(getattr(settings, "PAYMENT_WEBHOOK_THROTTLE_RATE", "600/min"))


# Account codes of the journal export (Dutch chart of accounts style); override any of
# them with settings.PAYMENT_JOURNAL_ACCOUNTS = {"bank": "1100", ...}.
JOURNAL_ACCOUNTS = {
    "receivables": "1300",  # debiteuren
    "bank": "1100",  # bank (transfers received, SEPA refunds paid)
    "psp": "1150",  # tussenrekening betaalprovider (iDEAL, card, PayPal, Bancontact, pay later)
    "cash": "1000",  # kas (point of sale)
    "store_credit": "1600",  # klanttegoeden (tegoedbonnen)
    "vat_payable": "1500",  # af te dragen btw (per rate: "vat_payable:21")
    "revenue": "8000",  # omzet (per rate: "revenue:21", "revenue:9", "revenue:0", "revenue:reverse_charge")
}


def journal_account(key: str) -> str:
    """The account code for `key` ("revenue:21" falls back to "revenue")."""
    accounts = {**JOURNAL_ACCOUNTS, **(getattr(settings, "PAYMENT_JOURNAL_ACCOUNTS", None) or {})}
    if key in accounts:
        return str(accounts[key])
    return str(accounts[key.split(":", 1)[0]])
