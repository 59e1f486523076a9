"""pairing-eval: evaluate paired-assistance programmes for the elderly and children (一老一小结对帮扶).

Layering (imports only go downward; ``make lint`` enforces it)::

    cli                                   typer commands, only calls
    reports · pipeline                    papermill driver and sections │ the build's steps
    disclosure                            small-count suppression
    allocation · reform · effectiveness · describe    the analyses
    indicators · inference · did · within the estimators they share
    build                                 atomic build engine, typed steps
    synth · template · data · panel · io · contract   raw ledgers → validated tables → panel
    results · plots · labels              result protocol, figures, label catalogue
    domain · errors · paths · hashing     vocabulary, exceptions, folders, fingerprints

See ``docs/`` and the README for the researcher's guide.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pairing-eval")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
