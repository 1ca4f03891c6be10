"""Reference data the payments app needs: a clearing policy for every payment method
(also created by migration 0003; this puts them back after a database flush). Staff
change the rules in the admin; what exists is never overwritten."""

DEFAULT_CLEARING_RULES = {
    "ideal": "provider_paid",
    "card": "provider_paid",
    "paypal": "provider_paid",
    "bancontact": "provider_paid",
    "bank_transfer": "bank_statement",
    "pay_later": "credit_check",
    "pos": "immediate",
    "store_credit": "store_credit",
}


def ensure_defaults() -> None:
    from payments.models import ClearingPolicy
    from payments.services.clearing import clearing_policies_forget

    existing = set(ClearingPolicy.objects.values_list("method", flat=True))
    missing = [
        ClearingPolicy(method=method, rule=rule)
        for method, rule in DEFAULT_CLEARING_RULES.items()
        if method not in existing
    ]
    if missing:
        ClearingPolicy.objects.bulk_create(missing, ignore_conflicts=True)
        clearing_policies_forget()
