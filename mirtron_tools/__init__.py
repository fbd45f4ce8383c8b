"""mirtron_tools: find mirtrons and pre-miRNAs with an attention LSTM.

The version has one source, pyproject.toml, read back from the installed package metadata.
"""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("mirtron_tools")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
