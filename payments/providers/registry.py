"""Which adapter serves a provider code.

`PAYMENT_PROVIDER_BACKEND` (payments.conf) decides: with "simulator" (the default) every
provider code is served by the built-in simulator, so demo and development need no
provider account; with "live" each code gets its real adapter and the simulator is off.
"""

from django.utils.translation import gettext as _

from payments import conf
from payments.exceptions import UnknownProvider
from payments.providers.base import PaymentProvider

LIVE_PROVIDERS = ("mollie",)
SIMULATOR = "simulator"


def provider_codes() -> tuple[str, ...]:
    """The provider codes that `get_provider` accepts with the current settings."""
    if conf.simulator_enabled():
        return (*LIVE_PROVIDERS, SIMULATOR)
    return LIVE_PROVIDERS


def get_provider(code: str) -> PaymentProvider:
    code = (code or "").strip().lower()
    if code not in provider_codes():
        raise UnknownProvider(_("Unknown payment provider %(code)r.") % {"code": code[:40]}, attr="provider")
    if conf.simulator_enabled():
        from payments.providers.simulator import SimulatorProvider

        return SimulatorProvider()
    if code == "mollie":
        from payments.providers.mollie import MollieProvider

        return MollieProvider(api_key=conf.mollie_api_key())
    raise UnknownProvider(_("Unknown payment provider %(code)r.") % {"code": code[:40]}, attr="provider")
