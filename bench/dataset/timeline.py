"""When things happen in the generated shop: a year of orders from a shop that grows (four
times as many orders a day at the end of the year as at the start)."""

import math
import random

from bench.dataset.reference import ADDITIONS, BE_CITIES, DE_CITIES, NL_CITIES, POSTCODE_LETTERS, STREETS

SPAN_DAYS = 365
GROWTH = 3.0  # the daily rate goes from 1 to 1 + GROWTH over the span


def growth_position(p: float) -> float:
    """The position in the span (0..1) by which a fraction `p` of all orders was placed,
    for a daily rate rising linearly from 1 to 1 + GROWTH (inverse of the cumulative)."""
    a = GROWTH / 2
    return (-1 + math.sqrt(1 + 4 * a * (1 + a) * p)) / (2 * a)


def random_address(rng: random.Random) -> tuple[str, str, str, str, str, str]:
    """(street, house number, addition, postal code, city, country) as intake stores it."""
    draw = rng.random()
    street = rng.choice(STREETS)
    number = str(1 + int(rng.random() ** 2 * 240))
    if draw < 0.94:
        city, low, high = rng.choice(NL_CITIES)
        postcode = f"{rng.randint(low, high)} {rng.choice(POSTCODE_LETTERS)}"
        addition = rng.choice(ADDITIONS) if rng.random() < 0.1 else ""
        return street, number, addition, postcode, city, "NL"
    if draw < 0.98:
        city, low, high = rng.choice(BE_CITIES)
        return street, number, "", str(rng.randint(low, high)), city, "BE"
    city, low, high = rng.choice(DE_CITIES)
    return street, number, "", f"{rng.randint(low, high):05d}", city, "DE"
