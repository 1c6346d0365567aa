"""Step 4's ownership handover, when `strangler extract handover` is available.

The handover moves a context's writes to its service (hold writes, drain CDC, flip,
reverse sync). Until it lands in this build, the demo says so and goes on.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from strangler.demo import Say


def available() -> bool:
    try:
        return importlib.util.find_spec("handover.run") is not None and _command_registered()
    except ImportError:  # the handover package is not installed with this build
        return False


def _command_registered() -> bool:
    from strangler.cli.extract import extract

    return "handover" in getattr(extract, "commands", {})


def handover_step(folder: Path, say: Say) -> dict[str, Any]:
    """Hand the catalog's writes over to the service, or say why it is skipped."""
    if not available():
        say("ownership handover: not in this build yet (strangler extract handover); skipped")
        return {"done": False, "reason": "strangler extract handover is not available"}
    say("ownership handover: available but not yet wired into the demo; skipped")
    return {"done": False, "reason": "not wired into the demo yet"}
