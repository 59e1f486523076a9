"""Load what ``pairing-eval build`` wrote: validated tables, the institution-quarter panel, the
manifest and the city-wide results. Notebooks and reports read only through here.

Integrity. The build records in ``manifest.json`` the size and SHA-256 of every file it wrote
(``files``: tables, panel, every results file) and a hash of the manifest itself
(``manifest_sha256``). :func:`load_processed` checks them before it reads anything, and
:meth:`Processed.result` checks the one results file it reads, so that a truncated, overwritten,
missing or foreign file is a :class:`DamagedDataError` naming the file and saying how to rebuild —
never a parquet reader's traceback that names no file, nor numbers read from a half-copied file.

Sizes are compared first (a truncated copy, the common damage, is caught by ``stat`` alone); the
hashes are compared when the files together are at most :data:`HASH_LIMIT` bytes. Measured on a
2-core machine: SHA-256 runs at about 2 GB/s, so the demo's processed folder (a few MB) is hashed
in a few milliseconds and the limit (1 GiB) costs at most about half a second; reading the same
files as parquet takes longer than hashing them. Above the limit the tables and panel are still
hashed (they are read whole anyway) and every results file when it is read.

``hashlib`` and a JSON record rather than a checksum library or parquet's own page checksums:
parquet's CRCs are optional, written by few writers and do not cover a file cut at a page
boundary, and the manifest must also cover what is not parquet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from .errors import AnalysisError
from .hashing import sha256_file
from .paths import processed_dir
from .results import DataBanner

TABLE_NAMES = (
    "counties",
    "institutions",
    "units",
    "pairings",
    "activities",
    "problems",
    "assessments",
)

MANIFEST = "manifest.json"
#: key of the manifest's hash of itself (computed over every other key)
MANIFEST_HASH_KEY = "manifest_sha256"
#: files together up to this many bytes are all hashed when a processed folder is checked
HASH_LIMIT = 1 << 30


class NotBuiltError(AnalysisError):
    """The processed data (or one results file) does not exist yet."""

    exit_code = 2


class DamagedDataError(AnalysisError):
    """A processed file differs from what the build wrote (truncated, changed, missing, unreadable).

    The message names every damaged file and says how to rebuild.
    """

    exit_code = 2

    def __init__(self, path: Path, dataset: str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.dataset = dataset
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__(f"The processed data in {self.path} is damaged: "
                         f"{'; '.join(self.problems)}. {rebuild_advice(dataset)}")


def rebuild_advice(dataset: str) -> str:
    """The one sentence every integrity error ends with."""
    return (f"Rebuild it with `pairing-eval build data/raw/{dataset} --force` "
            "(the raw files are not affected).")


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest's content without its own hash key (sorted keys, compact JSON)."""
    import hashlib

    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH_KEY}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_records(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"bytes": size, "sha256": hash}}`` of every file under ``folder`` except
    the manifest, sorted by path: what the build records in the manifest's ``files``."""
    folder = Path(folder)
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(folder).as_posix()] = {"bytes": p.stat().st_size,
                                                    "sha256": sha256_file(p)}
    return out


def read_manifest(path: Path, dataset: str) -> dict[str, Any]:
    """Read and check ``<path>/manifest.json``: valid JSON, an object, its own hash matching and
    its file records well formed. Raises :class:`NotBuiltError` when it does not exist and
    :class:`DamagedDataError` when it is broken."""
    f = Path(path) / MANIFEST
    if not f.exists():
        raise NotBuiltError(
            f"No processed data for dataset {dataset!r} at {path}. "
            f"Run `pairing-eval build data/raw/{dataset}` first."
        )
    try:
        manifest = json.loads(f.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DamagedDataError(path, dataset, [f"{MANIFEST} cannot be read ({_short(err)})"]) from None
    if not isinstance(manifest, dict):
        raise DamagedDataError(path, dataset, [f"{MANIFEST} is not a JSON object"])
    stored = manifest.get(MANIFEST_HASH_KEY)
    if stored is not None and stored != manifest_digest(manifest):
        raise DamagedDataError(path, dataset, [f"{MANIFEST} was changed after the build wrote it "
                                       "(its content no longer matches its own hash)"])
    files = manifest.get("files")
    if files is not None:
        bad = not isinstance(files, dict) or any(
            not isinstance(rel, str) or not _safe_relative(rel) or not isinstance(rec, dict)
            or not isinstance(rec.get("bytes"), int) or not isinstance(rec.get("sha256"), str)
            for rel, rec in files.items())
        if bad:
            raise DamagedDataError(path, dataset, [f"the file list in {MANIFEST} is malformed"])
        missing = [n for n in (*(f"{t}.parquet" for t in TABLE_NAMES), "panel.parquet")
                   if n not in files]
        if missing:
            raise DamagedDataError(path, dataset, [f"{MANIFEST} does not list {', '.join(missing)}"])
    return manifest


def _safe_relative(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def check_files(path: Path, manifest: Mapping[str, Any], dataset: str, *,
                hash_limit: int | None = None, always_hash: Iterable[str] = ()) -> bool:
    """Compare the files under ``path`` with the manifest's ``files`` records.

    Every recorded file must exist with the recorded size; its SHA-256 is compared too when the
    recorded files total at most ``hash_limit`` bytes (default :data:`HASH_LIMIT`), and always for
    the paths in ``always_hash``. Returns ``False`` for a manifest that records no files (written before file
    hashes were recorded: nothing can be checked), ``True`` after a successful check.

    Raises
    ------
    DamagedDataError
        Naming every file that is missing, of another size or of another content.
    """
    files = manifest.get("files")
    if not isinstance(files, dict):
        return False
    path = Path(path)
    total = sum(int(rec["bytes"]) for rec in files.values())
    hash_all = total <= (HASH_LIMIT if hash_limit is None else hash_limit)
    forced = set(always_hash)
    problems: list[str] = []
    for rel, rec in files.items():
        f = path / rel
        try:
            size = f.stat().st_size if f.is_file() else None
        except OSError:
            size = None
        if size is None:
            problems.append(f"{rel} is missing")
        elif size != rec["bytes"]:
            problems.append(f"{rel} has {size:,} bytes, the build wrote {rec['bytes']:,}"
                            + (" (cut short)" if size < rec["bytes"] else ""))
        elif hash_all or rel in forced:
            try:
                same = sha256_file(f) == rec["sha256"]
            except OSError as err:
                problems.append(f"{rel} cannot be read ({_short(err)})")
                continue
            if not same:
                problems.append(f"{rel} was changed after the build (its SHA-256 differs)")
    if problems:
        raise DamagedDataError(path, dataset, problems)
    return True


def _read_parquet(path: Path, rel: str, dataset: str) -> pd.DataFrame:
    """``pd.read_parquet`` with any reader error turned into a :class:`DamagedDataError` naming
    the file (for folders whose manifest records no hashes, and as a last line of defence)."""
    try:
        return pd.read_parquet(path / rel)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, MemoryError) as err:
        raise DamagedDataError(path, dataset, [f"{rel} cannot be read as parquet ({_short(err)})"]
                       ) from None
    except Exception as err:  # pyarrow's own errors (ArrowException subclasses)
        if type(err).__module__.startswith("pyarrow"):
            raise DamagedDataError(path, dataset, [f"{rel} cannot be read as parquet ({_short(err)})"]
                           ) from None
        raise


@dataclass(frozen=True)
class Processed:
    """The processed dataset: ``tables`` (validated raw tables), ``panel`` and ``manifest``."""

    dataset: str
    path: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    panel: pd.DataFrame = field(repr=False)
    manifest: dict[str, Any] = field(repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic", False))

    @property
    def verifiable(self) -> bool:
        """Whether the manifest records the files' sizes and hashes (every build since they are
        recorded; a folder written otherwise cannot be checked)."""
        return isinstance(self.manifest.get("files"), dict)

    def banner(self) -> DataBanner:
        """The banner a notebook shows first (synthetic data; few counties)."""
        return DataBanner(dataset=self.dataset, synthetic=self.synthetic,
                          n_counties=int(self.tables["counties"]["county_code"].nunique()))

    def _rel(self, name: str) -> str:
        return f"results/{name}.parquet"

    def has_result(self, name: str) -> bool:
        """Whether the build wrote the results file ``name`` (a recorded file that has since gone
        missing counts as written: reading it then raises :class:`DamagedDataError`)."""
        if self.verifiable:
            return self._rel(name) in self.manifest["files"]
        return (self.path / self._rel(name)).exists()

    def result(self, name: str) -> pd.DataFrame:
        """A city-wide results table, e.g. ``result("reform_aggregate")``; its size and hash are
        checked against the manifest before it is read."""
        rel = self._rel(name)
        f = self.path / rel
        if self.verifiable:
            files = self.manifest["files"]
            if rel not in files:
                if f.exists():
                    raise DamagedDataError(self.path, self.dataset, [
                        f"{rel} is not one of the files the build wrote ({MANIFEST} does not "
                        "list it)"])
                raise NotBuiltError(
                    f"{f} does not exist: the build of {self.dataset!r} did not run the step that "
                    f"writes it. Run `pairing-eval build data/raw/{self.dataset}` with that step."
                )
            check_files(self.path, {"files": {rel: files[rel]}}, self.dataset,
                        always_hash=(rel,))
        elif not f.exists():
            raise NotBuiltError(
                f"{f} does not exist. Run `pairing-eval build data/raw/{self.dataset}` first."
            )
        return _read_parquet(self.path, rel, self.dataset)

    def verify(self) -> bool:
        """Check every recorded file, hashes included whatever the folder's size (what
        ``pairing-eval report`` does before it runs a notebook). Returns ``False`` when the
        manifest records no files."""
        return check_files(self.path, self.manifest, self.dataset,
                           always_hash=tuple(self.manifest.get("files") or ()))

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def load_processed(dataset: str = "demo", root: Path | None = None) -> Processed:
    """Load ``data/processed/<dataset>/`` (tables, panel, manifest), checking each file against
    the manifest first.

    Raises
    ------
    NotBuiltError
        The dataset has not been built.
    DamagedDataError
        The manifest or a file is damaged (names the file; says to rebuild with ``--force``).
    """
    path = processed_dir(dataset, root)
    manifest = read_manifest(path, dataset)
    read_now = (*(f"{t}.parquet" for t in TABLE_NAMES), "panel.parquet")
    check_files(path, manifest, dataset, always_hash=read_now)
    tables = {t: _read_parquet(path, f"{t}.parquet", dataset) for t in TABLE_NAMES}
    panel = _read_parquet(path, "panel.parquet", dataset)
    return Processed(dataset=dataset, path=path, tables=tables, panel=panel, manifest=manifest)
