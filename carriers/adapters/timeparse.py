"""Carriers' ways of writing a moment, turned into aware datetimes.

Carriers write local time without an offset more often than not (PostNL always, DPD, some
DHL services). Such a time is read in the time zone of the country where the event took
place when the carrier says which country that is, else in the Netherlands' time zone.
"""

import datetime
import re
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_COUNTRY_ZONES = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CH": "Europe/Zurich",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
}


def zone_for_country(country: str | None) -> ZoneInfo:
    name = _COUNTRY_ZONES.get((country or "").strip().upper())
    return ZoneInfo(name) if name else AMSTERDAM


def localize(moment: datetime.datetime, zone: ZoneInfo = AMSTERDAM) -> datetime.datetime:
    """Aware as it is; a naive moment is read as wall-clock time in `zone`."""
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=zone)


def parse_iso(value: str, *, zone: ZoneInfo = AMSTERDAM) -> datetime.datetime:
    """ISO 8601 with or without offset (`Z`, `+02:00`, `+0200`), fractions of any length."""
    text = value.strip()
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # nanoseconds → microseconds
    return localize(datetime.datetime.fromisoformat(text), zone)


def parse_formats(value: str, formats: tuple[str, ...], *, zone: ZoneInfo = AMSTERDAM) -> datetime.datetime:
    text = value.strip()
    for fmt in formats:
        try:
            moment = datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - localized right below
        except ValueError:
            continue
        return localize(moment, zone)
    raise ValueError(f"Unrecognised date/time {value!r}")
