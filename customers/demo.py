from stdnum.nl import btw
from text_unidecode import unidecode

from core.models import SalesChannel
from customers.addresses import AddressInvalid, address_normalise
from customers.models import Address, Customer

CUSTOMERS_PER_CHANNEL = {"webshop-nl": 150, "store-utrecht": 30}
_SEED_OFFSET = {"webshop-nl": 0, "store-utrecht": 10_000}


def _email(first: str, last: str, index: int) -> str:
    local = "".join(c for c in unidecode(f"{first}.{last}").lower() if c.isalnum() or c == ".")
    return f"{local}.{index}@example.nl"


def _address(faker) -> dict:
    while True:
        try:
            normalised = address_normalise(
                street=faker.street_name(),
                house_number=str(faker.random_int(1, 250)),
                postal_code=faker.postcode(),
                city=faker.city(),
                country="NL",
            )
        except AddressInvalid:
            continue  # Faker can draw a postcode that does not exist (e.g. letters SS)
        return normalised.__dict__


def _vat_number(faker) -> str:
    while True:
        candidate = f"NL{faker.random_number(digits=9, fix_len=True)}B01"
        if btw.is_valid(candidate):
            return candidate


def seed_customers(ctx) -> None:
    """Dutch consumers and some businesses with Faker nl_NL addresses; the same every run
    (Faker is seeded per customer)."""
    faker = ctx.faker
    for code, count in CUSTOMERS_PER_CHANNEL.items():
        channel = SalesChannel.objects.get(code=code)
        existing = set(Customer.objects.filter(channel=channel).values_list("email", flat=True))
        for index in range(count):
            faker.seed_instance(index + _SEED_OFFSET[code])
            first, last = faker.first_name(), faker.last_name()
            email = _email(first, last, index)
            if email in existing:
                continue
            business = index % 10 == 0
            customer = Customer.objects.create(
                channel=channel,
                email=email,
                first_name=first,
                last_name=last,
                phone=faker.phone_number(),
                type=Customer.Type.BUSINESS if business else Customer.Type.CONSUMER,
                company_name=faker.company() if business else "",
                vat_number=_vat_number(faker) if business else "",
            )
            Address.objects.create(customer=customer, **_address(faker))
    ctx.report.append(f"customers: {Customer.objects.count()}")
