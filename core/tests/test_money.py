from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import MoneyError, format_eur, from_cents, money, net_of_gross, round_money, to_cents, vat_of_gross


def test_round_half_up_at_the_cent():
    assert round_money(Decimal("0.125")) == Decimal("0.13")
    assert round_money(Decimal("-0.125")) == Decimal("-0.13")
    assert round_money(Decimal("2.675")) == Decimal("2.68")


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [("121.00", "21", "21.00"), ("19.95", "21", "3.46"), ("10.90", "9", "0.90"), ("5.00", "0", "0.00")],
)
def test_vat_of_gross(gross, rate, vat):
    assert vat_of_gross(Decimal(gross), Decimal(rate)) == Decimal(vat)


@given(st.decimals(min_value=0, max_value=10**6, places=2), st.sampled_from(["0", "9", "21"]))
def test_net_plus_vat_is_gross(gross, rate):
    assert net_of_gross(gross, Decimal(rate)) + vat_of_gross(gross, Decimal(rate)) == gross


def test_floats_are_refused():
    with pytest.raises(MoneyError):
        money(19.95)
    with pytest.raises(MoneyError):
        money("NaN")
    assert money("19.95") == Decimal("19.95")


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_cents_round_trip(cents):
    assert to_cents(from_cents(cents)) == cents


def test_format_eur_dutch():
    assert format_eur(Decimal("1234567.5")) == "€ 1.234.567,50"
    assert format_eur(Decimal("-40")) == "-€ 40,00"
