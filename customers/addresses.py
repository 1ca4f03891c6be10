"""Address validation and normalisation: Dutch postcode and house number, and other
countries by their own postal-code rules.

`address_normalise` returns the address as it is stored (postcode in the country's own
format) or raises `AddressInvalid` naming the field.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.exceptions import ApplicationError

# ISO 3166-1 alpha-2.
COUNTRY_CODES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS
    IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM
    MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS
    PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
    TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)

EU_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())

# Postal code rules: (pattern on the upper-cased input with spaces collapsed, formatter).
_POSTAL_RULES: dict[str, tuple[re.Pattern, str]] = {
    "NL": (re.compile(r"^([1-9][0-9]{3}) ?(?!SA|SD|SS)([A-Z]{2})$"), "{0} {1}"),
    "BE": (re.compile(r"^([1-9][0-9]{3})$"), "{0}"),
    "LU": (re.compile(r"^(?:L-?)?([0-9]{4})$"), "{0}"),
    "DE": (re.compile(r"^([0-9]{5})$"), "{0}"),
    "FR": (re.compile(r"^([0-9]{5})$"), "{0}"),
    "ES": (re.compile(r"^((?:0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3})$"), "{0}"),
    "IT": (re.compile(r"^([0-9]{5})$"), "{0}"),
    "AT": (re.compile(r"^([1-9][0-9]{3})$"), "{0}"),
    "CH": (re.compile(r"^([1-9][0-9]{3})$"), "{0}"),
    "DK": (re.compile(r"^([1-9][0-9]{3})$"), "{0}"),
    "NO": (re.compile(r"^([0-9]{4})$"), "{0}"),
    "SE": (re.compile(r"^([1-9][0-9]{2}) ?([0-9]{2})$"), "{0} {1}"),
    "FI": (re.compile(r"^([0-9]{5})$"), "{0}"),
    "PL": (re.compile(r"^([0-9]{2})-?([0-9]{3})$"), "{0}-{1}"),
    "PT": (re.compile(r"^([1-9][0-9]{3})-?([0-9]{3})$"), "{0}-{1}"),
    "CZ": (re.compile(r"^([1-7][0-9]{2}) ?([0-9]{2})$"), "{0} {1}"),
    "SK": (re.compile(r"^([089][0-9]{2}) ?([0-9]{2})$"), "{0} {1}"),
    "IE": (re.compile(r"^([AC-FHKNPRTV-Y][0-9]{2}|D6W) ?([0-9AC-FHKNPRTV-Y]{4})$"), "{0} {1}"),
    "GB": (re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$"), "{0} {1}"),
    "US": (re.compile(r"^([0-9]{5})(?:-?([0-9]{4}))?$"), "us"),
}

_NL_HOUSE_NUMBER = re.compile(r"^[1-9][0-9]{0,4}$")
_NL_ADDITION = re.compile(r"^[A-Z0-9]{1,6}$")
_GENERIC_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,10}$")
# Countries without postal codes: an empty postal code is fine there.
_NO_POSTAL_CODE = frozenset(
    "AE AG AO AW BF BI BJ BO BS BW BZ CD CF CG CI CK CM CW DJ DM ER FJ GA GD GH GM GQ GY HK "
    "KI KM KN KP LY ML MO MR MW NR NU QA RW SB SC SL SR SS ST SX SY TD TF TG TK TL TO TT TV "
    "UG VU YE ZW".split()
)


class AddressInvalid(ApplicationError):
    code = "invalid_address"


@dataclass(frozen=True)
class NormalisedAddress:
    street: str
    house_number: str
    house_number_addition: str
    postal_code: str
    city: str
    country: str


def country_normalise(country: str, *, attr: str = "country") -> str:
    code = (country or "").strip().upper()
    if code not in COUNTRY_CODES:
        raise AddressInvalid(
            _("Unknown country code %(code)r; use ISO 3166 alpha-2 (NL, BE, DE …).") % {"code": country},
            attr=attr,
            code="invalid_country",
        )
    return code


def postal_code_normalise(postal_code: str, country: str, *, attr: str = "postal_code") -> str:
    value = re.sub(r"\s+", " ", (postal_code or "").strip().upper())
    rule = _POSTAL_RULES.get(country)
    if rule is None:
        if country in _NO_POSTAL_CODE and not value:
            return ""
        if not _GENERIC_POSTAL.match(value):
            raise AddressInvalid(
                _("Not a valid postal code for %(country)s.") % {"country": country},
                attr=attr,
                code="invalid_postal_code",
            )
        return value
    pattern, template = rule
    match = pattern.match(value)
    if not match:
        raise AddressInvalid(
            _("Not a valid postal code for %(country)s.") % {"country": country}, attr=attr, code="invalid_postal_code"
        )
    if template == "us":
        return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    return template.format(*match.groups())


def address_normalise(
    *,
    street: str,
    house_number: str,
    house_number_addition: str = "",
    postal_code: str,
    city: str,
    country: str,
    prefix: str = "",
) -> NormalisedAddress:
    """Check and normalise one address. `prefix` is put before field names in errors
    (`billing_address.`)."""
    country_code = country_normalise(country, attr=f"{prefix}country")
    street = (street or "").strip()
    city = (city or "").strip()
    number = (house_number or "").strip()
    addition = (house_number_addition or "").strip().upper().lstrip("-").strip()
    if not street:
        raise AddressInvalid(_("Street is required."), attr=f"{prefix}street", code="required")
    if not city:
        raise AddressInvalid(_("City is required."), attr=f"{prefix}city", code="required")
    if country_code == "NL":
        # "12A" or "12-A" in the number field: split off the addition.
        match = re.match(r"^([0-9]+)[ -]?([A-Za-z0-9]*)$", number)
        if match and match.group(2) and not addition:
            number, addition = match.group(1), match.group(2).upper()
        if not _NL_HOUSE_NUMBER.match(number):
            raise AddressInvalid(
                _("A Dutch house number is a number from 1 to 99999."),
                attr=f"{prefix}house_number",
                code="invalid_house_number",
            )
        if addition and not _NL_ADDITION.match(addition.replace(" ", "")):
            raise AddressInvalid(
                _("A house number addition is at most 6 letters or digits."),
                attr=f"{prefix}house_number_addition",
                code="invalid_house_number_addition",
            )
        addition = addition.replace(" ", "")
    elif not number and country_code not in ("GB", "IE"):
        raise AddressInvalid(_("House number is required."), attr=f"{prefix}house_number", code="required")
    return NormalisedAddress(
        street=street,
        house_number=number,
        house_number_addition=addition,
        postal_code=postal_code_normalise(postal_code, country_code, attr=f"{prefix}postal_code"),
        city=city,
        country=country_code,
    )
