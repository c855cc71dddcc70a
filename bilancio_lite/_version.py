"""The package's version (one place: re-exported as ``bilancio_lite.__version__``, recorded in
every sweep's manifest.json)."""

__version__ = "0.2.0"
