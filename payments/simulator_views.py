"""The payment simulator's checkout page: the stand-in for a provider's payment screen.

Served only while PAYMENT_PROVIDER_BACKEND is "simulator". The view only reads the form
and calls the simulator services; they decide what is allowed.
"""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.exceptions import ApplicationError, Conflict
from core.money import format_eur
from payments import conf
from payments.exceptions import ProviderPaymentNotFound
from payments.forms import SimulatorCheckoutForm
from payments.models import SimulatedProviderPayment
from payments.providers.base import ProviderStatus
from payments.providers.simulator import SimulatorProvider
from payments.selectors import simulated_payment_get
from payments.services.simulator import simulated_payment_chargeback, simulated_payment_complete

TEMPLATE = "payments/simulator/checkout.html"


def _outcomes(record: SimulatedProviderPayment) -> list[str]:
    if record.status == ProviderStatus.OPEN:
        if record.kind == SimulatedProviderPayment.Kind.LINK:
            return ["paid", "expired"]
        return ["paid", "pending", "failed", "expired", "cancelled"]
    if record.status == ProviderStatus.PENDING:
        return ["paid", "failed", "expired", "cancelled"]
    return []


def _page(request, record: SimulatedProviderPayment, form: SimulatorCheckoutForm, status: int = 200):
    payment = SimulatorProvider().get_payment(record.provider_id)
    record = simulated_payment_get(provider_id=record.provider_id)
    labels = dict(ProviderStatus.choices)
    context = {
        "payment": payment,
        "record": record,
        "form": form,
        "status_label": labels.get(payment.status, payment.status),
        "amount": format_eur(payment.amount),
        "amount_captured": format_eur(payment.amount_captured),
        "amount_refunded": format_eur(payment.amount_refunded),
        "amount_charged_back": format_eur(payment.amount_charged_back),
        "outcomes": [(outcome, labels[outcome]) for outcome in _outcomes(record)],
        "choose_method": not record.method and record.status in (ProviderStatus.OPEN, ProviderStatus.PENDING),
        "can_charge_back": payment.status == ProviderStatus.PAID and payment.amount_refundable > 0,
        "back_url": record.redirect_url if record.redirect_url.startswith(("https://", "http://")) else "",
    }
    return render(request, TEMPLATE, context, status=status)


@require_http_methods(["GET", "POST"])
def simulator_checkout(request, provider_id: str):
    if not conf.simulator_enabled():
        raise Http404
    try:
        record = simulated_payment_get(provider_id=provider_id)
    except ProviderPaymentNotFound as exc:
        raise Http404 from exc
    if request.method != "POST":
        return _page(request, record, SimulatorCheckoutForm())

    form = SimulatorCheckoutForm(request.POST)
    if not form.is_valid():
        return _page(request, record, form, status=400)
    action = form.cleaned_data["action"]
    amount = form.cleaned_data["amount"]
    try:
        if action == "chargeback":
            simulated_payment_chargeback(provider_id=record.provider_id, amount=amount)
            messages.success(request, _("The chargeback is recorded; the shop's webhook is called."))
            return redirect("payments_simulator:checkout", provider_id=record.provider_id)
        record = simulated_payment_complete(
            provider_id=record.provider_id,
            outcome=action,
            amount_paid=amount if action == "paid" else None,
            method=form.cleaned_data["method"] or None,
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _page(request, record, form, status=409 if isinstance(exc, Conflict) else 400)
    if record.redirect_url.startswith(("https://", "http://")):
        return HttpResponseRedirect(record.redirect_url)
    return redirect("payments_simulator:checkout", provider_id=record.provider_id)
