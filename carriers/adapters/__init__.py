"""Carrier track & trace adapters: one interface (`base.CarrierAdapter`), one module per carrier."""
