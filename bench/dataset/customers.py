"""Step: customers per sales channel (unique per channel and e-mail address), each with an
address in the address book. A customer exists before their first order: customers are
created along the same growth curve as the orders."""

import random

from bench.dataset.base import FALSE, GenContext, fmt_text, fmt_ts, generator_step
from bench.dataset.reference import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES
from bench.dataset.timeline import SPAN_DAYS, growth_position, random_address

CUSTOMERS = 200_000


def email_for(first: str, last: str, number: int, domain: str) -> str:
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    local = local.encode("ascii", "ignore").decode() or "klant"
    return f"{local}{number}@{domain}"


@generator_step("customers", requires=("customers.Customer",), bulk_tables=("customers.Customer", "customers.Address"))
def customers(ctx: GenContext) -> None:
    from customers.models import Address, Customer

    rng = random.Random(ctx.seed * 31 + 2)
    total = ctx.count(CUSTOMERS, minimum=20)
    start = ctx.now - SPAN_DAYS * 86400
    span = SPAN_DAYS * 86400
    customer_table = ctx.table(
        Customer,
        (
            "id created_at updated_at channel_id email first_name last_name phone type company_name vat_number "
            "language is_blocked blocked_reason"
        ).split(),
    )
    address_table = ctx.table(
        Address,
        (
            "id created_at updated_at customer_id street house_number house_number_addition postal_code city country"
        ).split(),
    )
    per_channel = {}
    first_id = ctx.ids(Customer, total)
    first_address = ctx.ids(Address, total)
    offset = 0
    channels = ctx.state["channels"]
    for index, (channel, share) in enumerate(channels):
        pool = total - offset if index == len(channels) - 1 else max(1, round(total * share))
        rows = []
        for k in range(pool):
            cid = first_id + offset
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = email_for(first, last, cid, rng.choice(EMAIL_DOMAINS))
            business = rng.random() < 0.05
            company = f"{last} {rng.choice(('B.V.', 'V.O.F.', 'Advies', 'Installatietechniek'))}" if business else ""
            phone = f"+316{rng.randint(10_000_000, 99_999_999)}"
            created = start + int(growth_position((k + 0.5) / pool) * span) - 3600
            address = random_address(rng)
            customer_table.add(
                (
                    str(cid),
                    fmt_ts(created),
                    fmt_ts(created),
                    str(channel.pk),
                    email,
                    fmt_text(first),
                    fmt_text(last),
                    phone,
                    "business" if business else "consumer",
                    fmt_text(company),
                    "",
                    "nl",
                    FALSE,
                    "",
                )
            )
            street, number, addition, postcode, city, country = address
            address_table.add(
                (
                    str(first_address + offset),
                    fmt_ts(created),
                    fmt_ts(created),
                    str(cid),
                    street,
                    number,
                    addition,
                    postcode,
                    fmt_text(city),
                    country,
                )
            )
            rows.append((cid, email, first, last, phone, "business" if business else "consumer", company, address))
            offset += 1
        per_channel[channel.pk] = rows
    ctx.state["customers"] = per_channel
    ctx.flush()
