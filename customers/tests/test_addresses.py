import pytest

from customers.addresses import AddressInvalid, address_normalise


def _nl(**overrides):
    data = {"street": "Oudegracht", "house_number": "12", "postal_code": "3511ab", "city": "Utrecht", "country": "nl"}
    data.update(overrides)
    return address_normalise(**data)


def test_dutch_postcode_is_normalised():
    address = _nl()
    assert address.postal_code == "3511 AB"
    assert address.country == "NL"


def test_house_number_with_addition_is_split():
    address = _nl(house_number="12-a")
    assert (address.house_number, address.house_number_addition) == ("12", "A")


@pytest.mark.parametrize(
    ("field", "value", "attr"),
    [
        ("postal_code", "0123 AB", "postal_code"),  # no leading zero
        ("postal_code", "1234 SS", "postal_code"),  # SS, SA, SD are not issued
        ("postal_code", "12345", "postal_code"),
        ("house_number", "0", "house_number"),
        ("house_number", "abc", "house_number"),
        ("country", "XX", "country"),
        ("street", "  ", "street"),
    ],
)
def test_bad_dutch_addresses_name_the_field(field, value, attr):
    with pytest.raises(AddressInvalid) as error:
        _nl(**{field: value, "prefix": "billing_address."})
    assert error.value.attr == f"billing_address.{attr}"


@pytest.mark.parametrize(
    ("country", "postal_code", "expected"),
    [
        ("BE", "1000", "1000"),
        ("DE", "10115", "10115"),
        ("LU", "L-1234", "1234"),
        ("PL", "00950", "00-950"),
        ("SE", "11455", "114 55"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("US", "94105-1234", "94105-1234"),
        ("JP", "100-0001", "100-0001"),  # generic rule
    ],
)
def test_other_countries_by_their_own_rules(country, postal_code, expected):
    address = address_normalise(street="Main", house_number="1", postal_code=postal_code, city="City", country=country)
    assert address.postal_code == expected


@pytest.mark.parametrize(("country", "postal_code"), [("BE", "12345"), ("DE", "1011"), ("FR", "ABCDE")])
def test_wrong_postcode_for_the_country(country, postal_code):
    with pytest.raises(AddressInvalid):
        address_normalise(street="Rue", house_number="1", postal_code=postal_code, city="C", country=country)
