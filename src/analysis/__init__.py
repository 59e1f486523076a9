"""pairing-eval: evaluate paired-assistance programmes for the elderly and children (一老一小结对帮扶).

Layering (imports only go downward)::

    contract → io → build            raw ledgers → validated tables → processed panel + results
    indicators · effectiveness · staggered · reform · allocation · inference · disclosure
    plots · reports                   figures, papermill driver, HTML
    cli                               typer commands, only calls

See ``docs/`` and the README for the researcher's guide.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pairing-eval")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
