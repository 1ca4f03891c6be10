import pytest

from payments.exceptions import InvalidPaymentReference
from payments.reference import (
    find_reference_candidates,
    payment_reference_check_digit,
    payment_reference_for,
    payment_reference_is_valid,
    payment_reference_normalise,
)


def test_published_example_validates():
    # given the Betaalvereniging's example (5)000 0567 8901 2345
    # then
    assert payment_reference_is_valid("5000056789012345")
    assert payment_reference_check_digit("000056789012345") == 5


def test_reference_for_a_number_is_check_digit_then_fifteen_digits():
    # when
    reference = payment_reference_for(56789012345)
    # then
    assert reference == "5000056789012345"
    assert len(reference) == 16
    assert payment_reference_is_valid(reference)


@pytest.mark.parametrize("number", [1, 7, 42, 123456, 999_999_999_999_999, 10**14 + 3])
def test_every_generated_reference_validates(number):
    reference = payment_reference_for(number)
    assert len(reference) == 16
    assert reference[1:] == f"{number:015d}"
    assert payment_reference_is_valid(reference)


def test_check_digit_ten_becomes_one_and_eleven_becomes_zero():
    # given: 15 zeros sum to 0, so C = 11 - 0 = 11 → 0
    assert payment_reference_check_digit("0" * 15) == 0
    # and: a single 1 in the rightmost place weighs 2: C = 11 - 2 = 9
    assert payment_reference_check_digit("000000000000001") == 9
    # and: find a body whose raw check digit is 10 and see it become 1
    body = next(f"{n:015d}" for n in range(1, 10_000) if (11 - _weighted(f"{n:015d}") % 11) == 10)
    assert payment_reference_check_digit(body) == 1


def _weighted(digits: str) -> int:
    weights = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
    return sum(int(d) * weights[i % 10] for i, d in enumerate(reversed(digits)))


@pytest.mark.parametrize(
    "value",
    [
        "5000 0567 8901 2345",
        "5000.0567.8901.2345",
        "5000-0567-8901-2345",
        "12 2345 3462 2567",  # Betaalvereniging's 14-digit example: check digit 1, length code 2
        "1234567",  # 7 digits carry no check digit
    ],
)
def test_valid_written_forms(value):
    assert payment_reference_is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "5000056789012346",  # wrong check digit
        "6000056789012345",
        "500005678901234",  # 15 digits is not an allowed length
        "12345678",  # 8 digits neither
        "13 2345 3462 2567",  # 14 digits with a wrong check digit
        "11 2345 3462 2567",  # 14 digits with a wrong length code
        "50000567890123450",
        "5000o56789012345",
        "",
        None,
        True,
        5000056789012345.0,
        "５０００056789012345",  # full-width digits are not ASCII digits
    ],
)
def test_invalid_references(value):
    assert not payment_reference_is_valid(value)


def test_nine_to_fourteen_digit_forms_follow_length_code_and_check_digit():
    for rest_length in range(7, 13):
        rest = "7" * rest_length
        length_code = str(rest_length % 10)
        check = payment_reference_check_digit(length_code + rest)
        valid = f"{check}{length_code}{rest}"
        assert payment_reference_is_valid(valid), valid
        wrong = f"{(check + 1) % 10}{length_code}{rest}"
        assert not payment_reference_is_valid(wrong), wrong


def test_normalise_strips_spaces_dots_and_dashes():
    assert payment_reference_normalise(" 5000 0567.8901-2345 ") == "5000056789012345"


@pytest.mark.parametrize("number", [0, -1, 10**15, "123", 1.0, True, None])
def test_reference_for_refuses_what_is_not_a_number_in_range(number):
    with pytest.raises(InvalidPaymentReference) as error:
        payment_reference_for(number)
    assert error.value.code == "invalid_payment_reference"


def test_finder_reads_reference_order_invoice_provider_and_rf_from_free_text():
    # given what a customer typed in the remittance field
    text = (
        "Betaling kenmerk 5000 0567 8901 2345 voor bestelling WEB-2026-000123, "
        "factuur 2026-000045 (tr_WDqYK6vllg) RF18 5390 0754 7034"
    )
    # when
    found = find_reference_candidates(text)
    # then
    assert found.payment_references == ("5000056789012345",)
    assert found.order_numbers == ("WEB-2026-000123",)
    assert found.invoice_numbers == ("2026-000045",)
    assert found.provider_payment_ids == ("tr_WDqYK6vllg",)
    assert found.rf_references == ("RF18539007547034",)
    assert not found.is_empty


def test_finder_skips_sixteen_digits_with_a_wrong_check_digit():
    found = find_reference_candidates("ref 5000056789012346 and 1234567890123456")
    assert found.payment_references == ()


def test_finder_reads_a_reference_next_to_other_numbers():
    found = find_reference_candidates("order 123 5000056789012345 dank")
    assert found.payment_references == ("5000056789012345",)


def test_finder_reads_loose_order_numbers_with_known_prefixes():
    # given the channels' prefixes, payers' loose spellings are recognised
    found = find_reference_candidates("web 2026 123 en WEB2026000124 en OTH-2026-77", order_prefixes=["WEB", "OTH"])
    assert found.order_numbers == ("WEB-2026-000123", "WEB-2026-000124", "OTH-2026-000077")
    # and without prefixes only the exact form counts (no "FACTUUR-2026-…" guesses)
    assert find_reference_candidates("web 2026 123").order_numbers == ()
    assert find_reference_candidates("Factuur 2026-000045").order_numbers == ()


def test_finder_does_not_read_an_order_number_as_an_invoice_number():
    found = find_reference_candidates("WEB-2026-000123")
    assert found.order_numbers == ("WEB-2026-000123",)
    assert found.invoice_numbers == ()


def test_finder_on_statement_texts_from_the_samples():
    # Mollie settlement line (MT940 sample): the Mollie payment id sits in EREF
    assert find_reference_candidates("Order 123 tr_XXXXXXXXX").provider_payment_ids == ("tr_XXXXXXXXX",)
    # the FFFS camt sample's RF reference has a wrong ISO 11649 check: not a candidate
    assert find_reference_candidates("RF98123456789012").rf_references == ()
    # and nothing in a bank's cost line
    assert find_reference_candidates("Kosten gebruik betaalrekening inclusief 1 betaalpas").is_empty


def test_finder_returns_each_candidate_once():
    found = find_reference_candidates("5000056789012345 / 5000 0567 8901 2345")
    assert found.payment_references == ("5000056789012345",)
