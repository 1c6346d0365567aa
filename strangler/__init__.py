"""strangler: a strangler-fig migration workbench."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Read from the installed metadata only when asked: importlib.metadata costs ~50 ms at
    # start-up, which every verb would pay (`strangler analyze` on a large log among them).
    if name != "__version__":
        raise AttributeError(f"module 'strangler' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strangler")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"
