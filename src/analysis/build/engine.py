"""Validate a raw data folder and build ``data/processed/<dataset>/`` atomically.

``build`` runs: read + validate every table and every cross-table key (:mod:`analysis.io`,
:mod:`analysis.contract`) → :func:`analysis.panel.derive_panel` → each results
:class:`~analysis.build.steps.Step` it is given, in an order that satisfies their ``requires``,
with the same :class:`~analysis.build.steps.BuildOptions`; each returned DataFrame is written to
``results/<key>.parquet`` → ``manifest.json`` (which records the options). The engine knows no
analysis: :mod:`analysis.pipeline` hands it the package's steps.

Atomicity: everything is written into a temporary sibling folder ``.<dataset>.building-<pid>-…``
which replaces ``<dataset>/`` only when every step succeeded. POSIX cannot exchange two directories
in one call, so the swap is two renames (current → ``.<dataset>.previous-…``, new → current); if
the process dies between them, the next build restores the previous folder before doing anything
else. A failure at any point (bad data, a results module that raises, Ctrl-C) leaves the previous
``data/processed/<dataset>/`` exactly as it was.

Up to date: a build is skipped when the input files' SHA-256 hashes, the package version, the
build options and a hash of the package's Python sources all equal the existing manifest's (the source hash makes a
rebuild happen after an analysis module changed, which the version number alone would miss) **and**
the existing folder is intact: the manifest records the size and SHA-256 of every file written
(``files``, checked by :func:`analysis.data.check_files`) and a hash of itself; a folder with a
broken manifest or a truncated, changed or missing file is rebuilt, saying why.
``force=True`` rebuilds anyway.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..contract import CONTRACT_VERSION, TABLE_NAMES, parsed_schema, validate
from ..data import (
    MANIFEST_HASH_KEY,
    DamagedDataError,
    Processed,
    check_files,
    file_records,
    manifest_digest,
    read_manifest,
)
from ..errors import AnalysisError, DataContractError, Problem, SpecificationError
from ..hashing import code_hash, data_hash, sha256_file
from ..io import RawData, read_raw, table_files
from ..io.inert import write_csv
from ..messages import Msg, say
from ..panel import derive_panel
from ..paths import project_root
from .steps import BuildOptions, Step, order_steps

_STEM = re.compile(r"^[A-Za-z0-9_]+$")


class BuildError(AnalysisError):
    """A build step after validation failed (panel, a results module); nothing was replaced."""

    exit_code = 1


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValidationReport:
    """What ``pairing-eval validate`` prints for a valid folder."""

    raw_dir: Path
    format: str
    rows: dict[str, int]
    locations: dict[str, str]
    notes: tuple[str, ...] = ()

    def render(self, language: str = "en") -> str:
        """The report in ``language`` (``zh`` or ``en``)."""
        kind = Msg("build.kind.csv" if self.format == "csv" else "build.kind.xlsx")
        lines = [Msg("build.valid", root=self.raw_dir, kind=kind, n=len(self.rows))]
        width = max(map(len, self.rows), default=0)
        for t, n in self.rows.items():
            lines.append(Msg("build.table_line", table=t, width=width, n=n,
                             where=self.locations.get(t, "")))
        if self.notes:
            lines.append(Msg("build.notes", n=len(self.notes)))
            lines += [f"  - {say(n, language)}" for n in self.notes]
        return "\n".join(say(line, language) for line in lines)


def _location(raw: RawData, table: str) -> str:
    src = raw.sources[table]
    if src.sheet:
        return Msg("loc.where_sheet", file=src.file, sheet=src.sheet)
    return f"{src.file} ({src.encoding})" if src.encoding else src.file


def _read_and_validate(raw_dir: Path) -> tuple[RawData, list[str]]:
    raw = read_raw(raw_dir)
    notes = validate(raw)
    return raw, notes


def validate_raw(raw_dir: Path | str) -> ValidationReport:
    """Check a raw folder against the contract.

    Raises :class:`~analysis.errors.DataContractError` listing every problem (``str(err)`` is a
    summary by table, column and rule; :func:`write_problems` writes them all); returns a report
    (row counts, where each table was read from, notes) when the data is valid.
    """
    raw, notes = _read_and_validate(Path(raw_dir))
    return ValidationReport(
        raw_dir=Path(raw_dir), format=raw.format,
        rows={t: len(raw.tables[t]) for t in TABLE_NAMES},
        locations={t: _location(raw, t) for t in TABLE_NAMES},
        notes=tuple(notes))


#: the columns of the problems file ``pairing-eval validate --output`` writes
PROBLEM_COLUMNS = ("table", "file", "sheet", "row", "column", "rule", "value", "expected", "fix")


def check_problems_output(path: Path | str, raw_dir: Path | str) -> Path:
    """Refuse a problems file that is not a ``.csv`` or that would land in the raw folder (its
    files are the data being checked, and a ``problems.csv`` there would be read as the problems
    table); checked before validating, so nothing is read in vain. Returns ``path``.

    Raises
    ------
    SpecificationError
        Naming the path and where to write instead.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise SpecificationError(Msg("build.output.suffix", path=path,
                                     name=path.with_suffix(".csv").name))
    if path.is_dir():
        raise SpecificationError(Msg("build.output.folder", path=path, name=path / "problems.csv"))
    parent = path.resolve().parent
    if parent.is_dir() and not os.access(parent, os.W_OK):
        raise SpecificationError(Msg("build.output.readonly", path=path, folder=path.parent))
    raw = Path(raw_dir).resolve()
    where = path.resolve()
    if where == raw or raw in where.parents:
        raise SpecificationError(Msg("build.output.inside", path=path, raw=raw_dir,
                                     suggest=raw.parent / "problems.csv"))
    return path


def write_problems(problems: Sequence[Problem], path: Path | str, language: str = "en") -> Path:
    """Write every problem to a CSV file, one per row (columns :data:`PROBLEM_COLUMNS`): UTF-8
    with a byte-order mark so that Excel shows Chinese text, every cell inert
    (:func:`analysis.io.inert.write_csv`: a value such as ``=1+1`` from the user's file is not a
    formula), written atomically; the column as the user headed it, ``expected`` and ``fix`` in
    ``language`` (``zh`` or ``en``). Check the path first with :func:`check_problems_output`."""
    rows = ((p.table, p.file, p.sheet, p.row, None if p.column is None else say(p.column, language),
             p.rule_id,
             p.value if p.value is None or isinstance(p.value, (str, int, float)) else str(p.value),
             say(p.expected, language), say(p.fix, language)) for p in problems)
    return write_csv(path, PROBLEM_COLUMNS, rows)


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildOutcome:
    dataset: str
    path: Path
    up_to_date: bool
    rows: dict[str, int] = field(default_factory=dict)
    results: tuple[str, ...] = ()
    seconds: float = 0.0
    notes: int = 0

    def render(self, language: str = "en") -> str:
        """The outcome in ``language`` (``zh`` or ``en``)."""
        if self.up_to_date:
            return Msg("build.up_to_date", path=self.path).render(language)
        lines = [Msg("build.built", path=self.path, seconds=self.seconds,
                     rows=", ".join(f"{t} {n:,}" for t, n in self.rows.items()))]
        if self.results:
            lines.append(Msg("build.results", files=", ".join(self.results)))
        if self.notes:
            lines.append(Msg("build.data_notes", n=self.notes))
        return "\n".join(m.render(language) for m in lines)


def default_out_root(raw_dir: Path) -> Path:
    """``data/processed`` beside ``data/raw`` (else under the project root)."""
    raw_dir = Path(raw_dir).resolve()
    if raw_dir.parent.name == "raw":
        return raw_dir.parent.parent / "processed"
    return project_root() / "data" / "processed"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def _recover(root: Path, dataset: str, echo: Callable[[str], Any]) -> None:
    """Undo what an interrupted build may have left behind."""
    if not root.is_dir():
        return
    target = root / dataset
    previous = sorted(root.glob(f".{dataset}.previous-*"), key=lambda p: p.stat().st_mtime)
    if previous and not target.exists():
        os.rename(previous[-1], target)
        echo(Msg("build.restored", target=target))
        previous = previous[:-1]
    for p in previous:
        shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(f".{dataset}.building-*"):
        m = re.match(rf"^\.{re.escape(dataset)}\.building-(\d+)-", p.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _read_truth(raw_dir: Path) -> tuple[bool, int | None]:
    """``synthetic`` and ``seed`` from ``TRUTH.json`` (or a ``SYNTHETIC`` marker file)."""
    f = raw_dir / "TRUTH.json"
    if not f.exists():
        return (raw_dir / "SYNTHETIC").exists(), None
    try:
        truth = json.loads(f.read_text(encoding="utf-8"))
        return bool(truth.get("synthetic", True)), truth.get("seed")
    except (ValueError, AttributeError) as err:
        raise DataContractError([Problem(
            file="TRUTH.json", row=None, column=None, value=None,
            expected=Msg("build.truth.expected"), fix=Msg("build.truth.fix", err=err))],
            header=Msg("build.truth.header", path=f"{raw_dir}/TRUTH.json")) from None


def _existing_manifest(target: Path, dataset: str, echo: Callable[[str], Any]
                       ) -> dict[str, Any] | None:
    """The existing build's manifest when the folder is intact, else ``None`` (saying why)."""
    if not (target / "manifest.json").exists():
        return None
    try:
        manifest = read_manifest(target, dataset)
        if not check_files(target, manifest, dataset):
            echo(Msg("build.no_hashes", target=target))
            return None
    except DamagedDataError as err:
        echo(Msg("build.damaged", target=target, why="; ".join(err.problems)))
        return None
    return manifest


def _where(err: BaseException) -> str:
    tb = traceback.extract_tb(err.__traceback__)
    if not tb:
        return ""
    last = tb[-1]
    return f" (at {Path(last.filename).name}:{last.lineno})"


def _check_parsed(tables: dict[str, pd.DataFrame]) -> None:
    """Second route: the parsed tables meet the pandera schema of the contract (types, ranges,
    enumerations, keys). A failure here is a bug in the reader, not in the user's data."""
    import pandera.errors

    for t, df in tables.items():
        try:
            parsed_schema(t).validate(df, lazy=True)
        except (pandera.errors.SchemaError, pandera.errors.SchemaErrors) as err:
            raise BuildError(f"internal check failed: the parsed {t} table does not meet the "
                             f"contract's schema although validation passed ({str(err)[:500]}). "
                             "Nothing was written; please report this with the input file.") from None


def input_hashes(raw_dir: Path) -> dict[str, str]:
    """SHA-256 of every (non-hidden) file of the raw folder, by file name."""
    return {p.name: sha256_file(p) for p in table_files(raw_dir)}


def build(raw_dir: Path | str, *, steps: Sequence[Step] = (), options: BuildOptions | None = None,
          force: bool = False, out_root: Path | str | None = None,
          echo: Callable[[str], Any] = print) -> BuildOutcome:
    """Validate ``raw_dir`` and write ``<out_root>/<dataset>/`` atomically.

    Parameters
    ----------
    raw_dir : folder of raw tables; its name is the dataset name (``demo`` for ``data/raw/demo``).
    steps : the results steps to run (``analysis.pipeline.STEPS`` for the package's analyses;
        none: tables and panel only).
    options : reach every step (default ``BuildOptions()``, the CLI's defaults).
    force : rebuild even when inputs, options, package version and code are unchanged.
    out_root : folder holding the processed datasets (default ``data/processed`` beside
        ``data/raw``).
    echo : receives progress lines.

    Raises
    ------
    DataContractError
        The raw data does not meet the contract (every problem listed); nothing is written.
    BuildError
        The panel or a results module failed; nothing is replaced.
    """
    t0 = time.perf_counter()
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        read_raw(raw_dir)  # raises the readable "no such folder" error
    dataset = raw_dir.resolve().name
    root = Path(out_root) if out_root is not None else default_out_root(raw_dir)
    target = root / dataset
    _recover(root, dataset, echo)

    options = options if options is not None else BuildOptions()
    ordered = order_steps(steps, options.steps)
    inputs = input_hashes(raw_dir)
    chash = code_hash()
    old = _existing_manifest(target, dataset, echo)
    if (not force and old is not None and old.get("inputs") == inputs
            and old.get("package_version") == __version__ and old.get("code_hash") == chash
            and old.get("build_options") == options.as_dict()
            and old.get("steps") == [st.name for st in ordered]):
        echo(Msg("build.unchanged", target=target, when=old.get("generated_at", "?")))
        return BuildOutcome(dataset=dataset, path=target, up_to_date=True)

    synthetic, seed = _read_truth(raw_dir)
    echo(Msg("build.reading", raw=raw_dir, n=len(inputs)))
    raw, notes = _read_and_validate(raw_dir)
    tables = {t: raw.tables[t] for t in TABLE_NAMES}
    rows = {t: len(df) for t, df in tables.items()}
    echo(Msg("build.valid_rows", rows=", ".join(f"{t} {n:,}" for t, n in rows.items())))
    _check_parsed(tables)

    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{dataset}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        provenance = {"dataset": dataset, "synthetic": synthetic, "data_hash": data_hash(inputs),
                      "package_version": __version__}
        if synthetic:
            provenance["note"] = "SYNTHETIC DATA: generated, not real ledgers"
        for t, df in tables.items():
            write_parquet(df, tmp / f"{t}.parquet", provenance)
        echo(Msg("build.panel"))
        try:
            panel = derive_panel({t: df.copy() for t, df in tables.items()})
        except AnalysisError:
            raise
        except Exception as err:
            raise BuildError(Msg("build.panel_failed", etype=type(err).__name__, err=str(err),
                                 where=_where(err))) from err
        write_parquet(panel, tmp / "panel.parquet", provenance)
        rows_all = {**rows, "panel": len(panel)}
        manifest: dict[str, Any] = {
            "dataset": dataset,
            "package_version": __version__,
            "contract_version": CONTRACT_VERSION,
            "code_hash": chash,
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "format": raw.format,
            "sources": {t: _location(raw, t) for t in TABLE_NAMES},
            "inputs": inputs,
            "data_hash": data_hash(inputs),
            "row_counts": rows_all,
            "synthetic": synthetic,
            "seed": seed,
            "notes": notes,
            "build_options": options.as_dict(),
            "steps": [st.name for st in ordered],
        }
        processed = Processed(dataset=dataset, path=tmp, tables=tables, panel=panel,
                              manifest=dict(manifest))
        results = _run_steps(ordered, options, processed, tmp / "results", echo, provenance)
        manifest["results"] = results
        manifest["files"] = file_records(tmp)
        manifest = json.loads(json.dumps(manifest, ensure_ascii=False))
        manifest[MANIFEST_HASH_KEY] = manifest_digest(manifest)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
        _swap(tmp, target, root, dataset)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    echo(Msg("build.wrote", target=target))
    return BuildOutcome(dataset=dataset, path=target, up_to_date=False, rows=rows_all,
                        results=tuple(results),
                        seconds=time.perf_counter() - t0, notes=len(notes))


PARQUET_META_KEY = b"pairing_eval"


def write_parquet(df: pd.DataFrame, path: Path, provenance: dict[str, Any]) -> None:
    """Write ``df`` as parquet with the dataset's provenance in the file's schema metadata
    (key ``pairing_eval``: dataset, synthetic, data hash, package version), so that a results file
    taken out of its folder still says where it came from and whether the data is synthetic."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PARQUET_META_KEY] = json.dumps(provenance, ensure_ascii=False).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path)


def _run_steps(steps: Sequence[Step], options: BuildOptions, processed: Processed, out: Path,
               echo: Callable[[str], Any], provenance: dict[str, Any]
               ) -> list[str]:
    out.mkdir(exist_ok=True)
    written: list[str] = []
    for step in steps:
        t0 = time.perf_counter()
        try:
            res = step.run(processed, options)
        except AnalysisError as err:
            raise BuildError(Msg("build.step_failed", step=step.name, err=str(err))) from err
        except Exception as err:
            raise BuildError(Msg("build.step_crashed", step=step.name, etype=type(err).__name__,
                                 err=str(err), where=_where(err))) from err
        if not isinstance(res, dict) or not all(
                isinstance(k, str) and _STEM.match(k) and isinstance(v, pd.DataFrame)
                for k, v in res.items()):
            raise BuildError(f"results step {step.name!r} must return a dict of file stem → "
                             "DataFrame. Nothing was replaced.")
        for key, df in res.items():
            fname = f"{key}.parquet"
            if fname in written:
                raise BuildError(f"results file {fname} is produced by two steps "
                                 f"(second: {step.name}). Nothing was replaced.")
            try:
                write_parquet(df, out / fname, provenance)
            except Exception as err:
                raise BuildError(f"{step.name}: results table {key!r} cannot be written as "
                                 f"parquet: {type(err).__name__}: {err}. Nothing was replaced."
                                 ) from err
            written.append(fname)
        echo(Msg("build.step", step=step.name, files=", ".join(res) or Msg("build.no_tables"),
                 seconds=time.perf_counter() - t0))
    return written


def _swap(tmp: Path, target: Path, root: Path, dataset: str) -> None:
    previous = None
    if target.exists():
        previous = root / f".{dataset}.previous-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(target, previous)
    try:
        os.rename(tmp, target)
    except BaseException:
        if previous is not None:
            os.rename(previous, target)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
