"""`strangler extract scaffold`: a new service's skeleton from an analysis report.

report.py picks the context, schema_db.py / schema_ddl.py read its tables, endpoints.py
turns its endpoints into routes, plan.py decides every file (pure, from templates/),
write.py writes them; generate.py composes these for the CLI.
"""

from scaffold.errors import ScaffoldError
from scaffold.generate import ScaffoldOptions, ScaffoldResult, plan_service, scaffold_service

__all__ = ["ScaffoldError", "ScaffoldOptions", "ScaffoldResult", "plan_service", "scaffold_service"]
