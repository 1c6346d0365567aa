"""The one comparison engine: rules file, normalisation, noise learning, JSON/HTML diff.

Used by the router's live shadow comparison, `strangler verify` and the pytest plugin.
Pure: the only I/O is reading a rules file (`load_rules`).
"""

from parity.engine import body_kind, compare, differences
from parity.errors import ParityError, RulesError
from parity.model import Comparison, Difference, Response
from parity.noise import NoiseModel
from parity.rules import RouteRules, Rules, load_rules, parse_rules

__all__ = [
    "Comparison",
    "Difference",
    "NoiseModel",
    "ParityError",
    "Response",
    "RouteRules",
    "Rules",
    "RulesError",
    "body_kind",
    "compare",
    "differences",
    "load_rules",
    "parse_rules",
]
