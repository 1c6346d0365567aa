"""The strangler facade: route table, store, admin API and the mitmproxy data plane."""
