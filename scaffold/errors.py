"""The scaffold's one root error: a user mistake reported as one clear line."""


class ScaffoldError(Exception):
    """Bad input to the scaffold (report, context, schema, output folder)."""
