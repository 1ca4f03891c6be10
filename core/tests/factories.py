import datetime

import factory
from django.contrib.auth.models import Group

from core.models import SalesChannel, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@backoffice.example.nl")
    first_name = factory.Faker("first_name", locale="nl_NL")
    last_name = factory.Faker("last_name", locale="nl_NL")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class SalesChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesChannel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.LazyAttribute(lambda c: f"Shop {c.code}")
    kind = SalesChannel.Kind.WEBSHOP
    cutoff_time = datetime.time(16, 0)
    partial_shipments = True
    order_number_prefix = "WEB"
