"""The catalog service: categories, products and prices, cut from ShopCo's catalog context.

domain.py is the pure core (rules and the JSON the contract promises), tables.py the
service's own schema, repository.py the SQLAlchemy adapter, usecases.py the commands
and queries, api.py the Flask adapter, app.py the factory. cdc.toml fills the tables
from the monolith; parity.toml lists where the service deliberately differs.
"""
