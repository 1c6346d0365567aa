"""Writing a plan into the service's folder: the only module of the scaffold that writes."""

from __future__ import annotations

from pathlib import Path

from scaffold.errors import ScaffoldError
from scaffold.plan import Plan


def package_name(folder: Path) -> str:
    """The import name of `folder`: its name, prefixed by every parent that is a package."""
    folder = folder.resolve()
    if not folder.name.isidentifier():
        raise ScaffoldError(
            f"--out {folder}: the folder name {folder.name!r} is not a Python package name "
            "(use letters, digits and _)"
        )
    parts = [folder.name]
    parent = folder.parent
    while (parent / "__init__.py").is_file() and parent.name.isidentifier():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts)


def write_plan(plan: Plan, folder: Path, force: bool = False) -> tuple[Path, ...]:
    """Write every planned file under `folder`; refuse to overwrite any unless `force`."""
    existing = [f.path for f in plan.files if (folder / f.path).exists()]
    if existing and not force:
        shown = ", ".join(existing[:3]) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        )
        raise ScaffoldError(
            f"--out {folder}: {len(existing)} file(s) would be overwritten ({shown}); "
            "pass --force to overwrite them"
        )
    written = []
    for generated in plan.files:
        path = folder / generated.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generated.content, encoding="utf-8")
            if generated.executable:
                path.chmod(path.stat().st_mode | 0o111)
        except OSError as exc:
            raise ScaffoldError(
                f"--out {folder}: cannot write {generated.path}: {exc.strerror}"
            ) from None
        written.append(path)
    return tuple(written)
