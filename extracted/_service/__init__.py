"""The kit every extracted service shares: config, HTTP errors, validation, probes, metrics.

A service is a domain core (pure), a repository (SQLAlchemy adapter) and a blueprint
(Flask adapter); everything around them (request ids, JSON logs, Prometheus metrics,
`/health` and `/ready`, alembic, the CDC sync marker) comes from here, so two services
never repeat it. See docs/extract.md.
"""
