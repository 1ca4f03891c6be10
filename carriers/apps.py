from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CarriersConfig(AppConfig):
    name = "carriers"
    verbose_name = _("Carriers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from carriers import rules  # noqa: F401  (defines the business rules at start-up)
        from carriers.services.notifications import shipment_shipped
        from orders.services.fulfilment import SHIPMENT_HOOKS

        # a new parcel is tracked from the moment it ships, and the customer gets the link
        if shipment_shipped not in SHIPMENT_HOOKS:
            SHIPMENT_HOOKS.append(shipment_shipped)
