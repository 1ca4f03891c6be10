"""Deployment checks of our own (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def two_factor_on(app_configs, **kwargs):
    if getattr(settings, "STAFF_OTP_REQUIRED", True):
        return []
    return [
        Warning(
            "STAFF_OTP_REQUIRED is off: Finance, Manager and superusers log in without a second factor.",
            hint="Unset STAFF_OTP_REQUIRED (it defaults to on) outside a local demo.",
            id="core.W001",
        )
    ]
