"""strangler: a strangler-fig migration workbench."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("strangler")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
