import pytest
from django.test import override_settings

from payments.exceptions import ProviderNotConfigured, UnknownProvider
from payments.providers.mollie import MollieProvider
from payments.providers.registry import get_provider, provider_codes
from payments.providers.simulator import SimulatorProvider


def test_simulator_is_the_default_and_serves_every_code():
    assert isinstance(get_provider("mollie"), SimulatorProvider)
    assert isinstance(get_provider("simulator"), SimulatorProvider)
    assert isinstance(get_provider(" Mollie "), SimulatorProvider)
    assert provider_codes() == ("mollie", "simulator")


@override_settings(PAYMENT_PROVIDER_BACKEND="live", MOLLIE_API_KEY="live_abcdefghijklmnopqrstuvwxyz1234")
def test_live_backend_gives_mollie_with_the_configured_key():
    provider = get_provider("mollie")
    assert isinstance(provider, MollieProvider)
    assert provider.api_key == "live_abcdefghijklmnopqrstuvwxyz1234"
    assert provider.endpoint == "https://api.mollie.com/v2"


@override_settings(PAYMENT_PROVIDER_BACKEND="live")
def test_live_backend_has_no_simulator():
    with pytest.raises(UnknownProvider):
        get_provider("simulator")


@override_settings(PAYMENT_PROVIDER_BACKEND="live", MOLLIE_API_KEY="")
def test_live_mollie_without_a_key_refuses_to_call():
    with pytest.raises(ProviderNotConfigured):
        get_provider("mollie").get_payment("tr_WDqYK6vllg")


@pytest.mark.parametrize("code", ["", "adyen", "paynl", None])
def test_unknown_providers(code):
    with pytest.raises(UnknownProvider) as error:
        get_provider(code)
    assert error.value.http_status == 404
