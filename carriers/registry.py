"""Which adapter serves a carrier code.

`settings.CARRIER_BACKEND` ("simulator", the default, or "live") decides for every carrier;
`settings.CARRIER_BACKENDS` can override it per carrier code (e.g. {"postnl": "live"}). In
simulator mode each carrier is served by the simulator under its own code (so its quota
counters, backoff and outages stay its own) with its real tracking URL format. The
`simulator` carrier is always simulated.

Adapters are kept per thread (a `requests.Session` is not shared between threads) and
forgotten when settings change.
"""

import threading

from django.core.signals import setting_changed
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from carriers import conf
from carriers.adapters.base import CarrierAdapter
from carriers.adapters.dhl import DHLAdapter
from carriers.adapters.dhl_ecommerce_nl import DHLEcommerceNLAdapter
from carriers.adapters.dpd import DPDAdapter
from carriers.adapters.gls import GLSAdapter
from carriers.adapters.postnl import PostNLAdapter
from carriers.adapters.simulator import SimulatorAdapter
from carriers.exceptions import UnknownCarrier

SIMULATOR = "simulator"

LIVE_ADAPTERS: dict[str, type[CarrierAdapter]] = {
    PostNLAdapter.code: PostNLAdapter,
    DHLAdapter.code: DHLAdapter,
    DHLEcommerceNLAdapter.code: DHLEcommerceNLAdapter,
    DPDAdapter.code: DPDAdapter,
    GLSAdapter.code: GLSAdapter,
}
CARRIER_NAMES = {
    **{code: adapter.name for code, adapter in LIVE_ADAPTERS.items()},
    SIMULATOR: _("Simulator (demo)"),
}

_local = threading.local()
_lock = threading.Lock()
_state = {"generation": 0}


def carrier_codes() -> list[str]:
    return list(CARRIER_NAMES)


def carrier_choices() -> list[tuple[str, str]]:
    """(code, name) of every carrier, for a model field's `choices`."""
    return list(CARRIER_NAMES.items())


def _build(carrier_code: str, backend: str) -> CarrierAdapter:
    if carrier_code == SIMULATOR:
        return SimulatorAdapter(SIMULATOR, name=str(CARRIER_NAMES[SIMULATOR]))
    if backend == conf.BACKEND_SIMULATOR:
        name = gettext("%(carrier)s (simulated)") % {"carrier": CARRIER_NAMES[carrier_code]}
        return SimulatorAdapter(carrier_code, name=name)
    if backend != conf.BACKEND_LIVE:
        raise ValueError(f"Unknown CARRIER_BACKEND {backend!r} for {carrier_code}")
    return LIVE_ADAPTERS[carrier_code]()


def get_adapter(carrier_code: str) -> CarrierAdapter:
    if carrier_code not in CARRIER_NAMES:
        raise UnknownCarrier(gettext("Unknown carrier %(carrier)s.") % {"carrier": carrier_code}, carrier=carrier_code)
    backend = conf.backend_for(carrier_code)
    if getattr(_local, "generation", None) != _state["generation"]:
        _local.adapters = {}
        _local.generation = _state["generation"]
    adapters = _local.adapters
    key = (carrier_code, backend)
    if key not in adapters:
        adapters[key] = _build(carrier_code, backend)
    return adapters[key]


def clear_adapter_cache() -> None:
    """Forget the adapters of every thread (they are built again on next use)."""
    with _lock:
        _state["generation"] += 1


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith(("CARRIER_", "POSTNL_", "DHL_", "DPD_", "GLS_")):
        clear_adapter_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="carriers.registry.clear_adapter_cache")
