import factory

from core.tests.factories import SalesChannelFactory
from customers.models import Address, Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    channel = factory.SubFactory(SalesChannelFactory)
    email = factory.Sequence(lambda n: f"klant{n}@example.nl")
    first_name = factory.Faker("first_name", locale="nl_NL")
    last_name = factory.Faker("last_name", locale="nl_NL")
    type = Customer.Type.CONSUMER


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    street = "Oudegracht"
    house_number = factory.Sequence(lambda n: str(n % 300 + 1))
    postal_code = "3511 AB"
    city = "Utrecht"
    country = "NL"
