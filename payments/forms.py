from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.providers.base import PAYMENT_METHODS
from payments.states import RefundMethod, RefundReason

SIMULATOR_ACTIONS = [
    ("paid", _("Paid")),
    ("pending", _("Pending")),
    ("failed", _("Failed")),
    ("expired", _("Expired")),
    ("cancelled", _("Cancelled")),
    ("chargeback", _("Chargeback")),
]
SIMULATOR_METHODS = [(method, method) for method in PAYMENT_METHODS if method not in ("pos", "store_credit")]


class SimulatorCheckoutForm(forms.Form):
    """What one picks on the simulator's checkout page (shape only; the services decide
    what is allowed)."""

    action = forms.ChoiceField(label=_("Outcome"), choices=SIMULATOR_ACTIONS)
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Empty: the whole amount. Less than the amount: a partial payment or a partial chargeback."),
    )
    method = forms.ChoiceField(label=_("Payment method"), choices=[("", "—"), *SIMULATOR_METHODS], required=False)


# --- staff screens (shape only; the services check the rules) -----------------------


class StatementUploadForm(forms.Form):
    file = forms.FileField(label=_("Statement file"), help_text=_("CAMT.053 (.xml) or MT940 (.sta, .940, .txt)."))


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.ChoiceField(label=_("Reason"), choices=RefundReason.choices, initial=RefundReason.OTHER)
    method = forms.ChoiceField(
        label=_("Refund method"), choices=[("", _("As the payment came in")), *RefundMethod.choices], required=False
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=34,
        required=False,
        help_text=_("SEPA only; empty: the account the money came from."),
    )
    account_name = forms.CharField(label=_("Account holder"), max_length=140, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class GoodwillForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount incl. VAT"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    note = forms.CharField(label=_("Reason"), max_length=200)
    refund = forms.BooleanField(label=_("Refund the amount too"), required=False, initial=True)


class ManualMatchForm(forms.Form):
    order_number = forms.CharField(label=_("Order number"), max_length=32)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Empty: what is left of the line."),
    )


class ManualPaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount received"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    note = forms.CharField(
        label=_("How it was received"), max_length=255, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


class PaymentLinkForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Empty: everything still due."),
    )


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_to"] < cleaned["date_from"]:
            raise forms.ValidationError(_("The end lies before the start."))
        return cleaned


class DaysForm(forms.Form):
    days = forms.IntegerField(label=_("Paid more than this many days ago"), min_value=0, max_value=365, required=False)
