"""Payment provider adapters: `registry.get_provider(code)` gives the one to use."""
