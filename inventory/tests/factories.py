import datetime

import factory

from inventory.models import Location, StorageKind


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC{n}")
    name = factory.LazyAttribute(lambda loc: f"Location {loc.code}")
    kind = Location.Kind.WAREHOUSE
    storage_kinds = factory.LazyFunction(lambda: [StorageKind.NORMAL])
    cutoff_time = datetime.time(16, 0)
    priority = factory.Sequence(lambda n: 10 + n)


def stocked(product, location, on_hand: int, *, reorder_point: int = 0):
    """A stock row with `on_hand` booked as a receipt through the ledger."""
    from inventory.models import Stock, StockMovement
    from inventory.services.ledger import StockChange, stock_book, stock_rows_ensure

    stock_id = stock_rows_ensure([(product.pk, location.pk)])[(product.pk, location.pk)]
    if on_hand:
        stock_book(
            changes=[StockChange(stock_id, StockMovement.Kind.RECEIPT, on_hand_delta=on_hand)], reference="test:receipt"
        )
    if reorder_point:
        Stock.objects.filter(pk=stock_id).update(reorder_point=reorder_point)
    return Stock.objects.get(pk=stock_id)
