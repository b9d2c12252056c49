"""Maestro Build Plane."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("maestro")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"
