import threading

import pytest
from django.test import override_settings
from django.utils import translation

from carriers.adapters.dhl import DHLAdapter
from carriers.adapters.dhl_ecommerce_nl import DHLEcommerceNLAdapter
from carriers.adapters.dpd import DPDAdapter
from carriers.adapters.gls import GLSAdapter
from carriers.adapters.postnl import PostNLAdapter
from carriers.adapters.simulator import SimulatorAdapter
from carriers.exceptions import UnknownCarrier
from carriers.registry import carrier_choices, carrier_codes, clear_adapter_cache, get_adapter

LIVE = {
    "postnl": PostNLAdapter,
    "dhl": DHLAdapter,
    "dhl_ecommerce_nl": DHLEcommerceNLAdapter,
    "dpd": DPDAdapter,
    "gls": GLSAdapter,
}


@translation.override("en")
def test_every_carrier_has_a_choice():
    assert carrier_codes() == ["postnl", "dhl", "dhl_ecommerce_nl", "dpd", "gls", "simulator"]
    choices = dict(carrier_choices())
    assert choices["postnl"] == "PostNL"
    assert choices["dhl_ecommerce_nl"] == "DHL eCommerce NL"
    assert str(choices["simulator"]) == "Simulator (demo)"


@pytest.mark.parametrize("code", ["postnl", "dhl", "dhl_ecommerce_nl", "dpd", "gls", "simulator"])
def test_by_default_every_carrier_is_simulated_under_its_own_code(code):
    adapter = get_adapter(code)

    assert isinstance(adapter, SimulatorAdapter)
    assert adapter.code == code


@pytest.mark.parametrize(("code", "adapter_class"), LIVE.items())
def test_live_mode_serves_the_real_adapters(code, adapter_class):
    with override_settings(CARRIER_BACKEND="live", POSTNL_API_KEY="k", DHL_API_KEY="k"):
        adapter = get_adapter(code)
        assert type(adapter) is adapter_class
        assert adapter.code == code
        assert get_adapter("simulator").code == "simulator"  # the demo carrier stays simulated


def test_live_adapters_read_their_settings():
    with override_settings(CARRIER_BACKEND="live", POSTNL_API_KEY="secret", POSTNL_BASE_URL="https://api.postnl.nl/"):
        adapter = get_adapter("postnl")
        assert adapter.api_key == "secret"
        assert adapter.base_url == "https://api.postnl.nl"
        assert adapter.session.headers["apikey"] == "secret"


def test_one_carrier_can_go_live_while_the_others_stay_simulated():
    with override_settings(CARRIER_BACKENDS={"postnl": "live"}):
        assert isinstance(get_adapter("postnl"), PostNLAdapter)
        assert isinstance(get_adapter("dhl"), SimulatorAdapter)


def test_adapters_are_reused_and_rebuilt_when_settings_change():
    first = get_adapter("dhl")
    assert get_adapter("dhl") is first
    with override_settings(CARRIER_BACKEND="live"):
        assert isinstance(get_adapter("dhl"), DHLAdapter)
    assert get_adapter("dhl") is not first
    assert isinstance(get_adapter("dhl"), SimulatorAdapter)


def test_each_thread_has_its_own_adapters():
    mine = get_adapter("gls")
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(get_adapter("gls")))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_unknown_carrier():
    with pytest.raises(UnknownCarrier) as error:
        get_adapter("tnt")
    assert error.value.code == "unknown_carrier"


def test_names_say_when_a_carrier_is_simulated():
    with translation.override("en"):
        clear_adapter_cache()
        assert get_adapter("postnl").name == "PostNL (simulated)"
        assert get_adapter("simulator").name == "Simulator (demo)"
    with translation.override("nl"):
        clear_adapter_cache()
        assert get_adapter("postnl").name == "PostNL (gesimuleerd)"
    clear_adapter_cache()
