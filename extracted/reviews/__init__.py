"""The reviews service: product reviews, whose writes move to the service completely.

The analyzer puts `reviews` in a context of its own (only /api/reviews creates and
deletes its rows). Same layout as the catalog: domain.py (pure), tables.py, repository.py,
usecases.py, api.py, app.py, cdc.toml, parity.toml.
"""
