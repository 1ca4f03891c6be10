from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug into the orders app's hook points (orders never imports payments)."""
        from orders.api import representation
        from orders.services import cancellation, fraud, fulfilment, intake
        from payments import hooks
        from payments.selectors import order_invoice_summaries, order_payment_summary
        from payments.services.clearing import clears_at_intake

        def register(hook_list: list, hook) -> None:
            if hook not in hook_list:  # ready() may run twice in tests
                hook_list.append(hook)

        register(intake.CLEARING_POLICY, clears_at_intake)
        register(intake.ORDER_CREATED_HOOKS, hooks.on_order_created)
        register(fulfilment.SHIPMENT_HOOKS, hooks.on_shipment)
        register(cancellation.ORDER_CANCELLED_HOOKS, hooks.on_order_cancelled)
        register(fraud.PAYMENT_RISK_CHECKS, hooks.payment_risk_signals)
        register(representation.PAYMENT_SUMMARY_PROVIDERS, order_payment_summary)
        register(representation.INVOICE_SUMMARY_PROVIDERS, order_invoice_summaries)
