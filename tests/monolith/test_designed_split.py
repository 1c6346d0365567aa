"""The designed split of ShopCo into contexts: the answer key for the analyzer."""

from monolith.api import endpoint_contexts
from monolith.models import DESIGNED_CONTEXTS


def test_every_api_endpoint_belongs_to_a_designed_context(app):
    contexts = endpoint_contexts(app)
    api_rules = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert set(contexts) == api_rules and len(api_rules) == 40
    assert set(contexts.values()) == set(DESIGNED_CONTEXTS.values()) | {"reports"}
    assert contexts["POST /api/carts/<int:cart_id>/checkout"] == "orders"
    assert contexts["GET /api/audit-log"] == "audit"
