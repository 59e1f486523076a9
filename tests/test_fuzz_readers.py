"""Fuzz test of the readers: whatever bytes land in a raw folder — random bytes, a truncated or
damaged file, text in an encoding the contract does not accept, a damaged workbook — reading and
validating ends in "valid" or a :class:`~analysis.errors.DataContractError` whose every problem
says where, what was expected and how to fix it; never another exception. A few of the inputs go
through the real ``pairing-eval validate`` process, which must exit 0 or 2 without a traceback.

The number of examples is bounded so that the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_contract import TINY, csv_text, tiny_rows, tiny_workbook, write_tiny

from analysis.contract import validate
from analysis.errors import DataContractError
from analysis.io import read_raw

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TABLES = sorted(TINY)
#: encodings a researcher's file might really be in (accepted or not by the contract)
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be",
             "utf-32", "big5", "cp1252", "latin-1", "shift_jis", "cp437", "koi8-r"]


def _tiny_csv(table: str) -> str:
    return csv_text(tiny_rows(table))


def _tiny_workbook() -> bytes:
    wb, _ = tiny_workbook()
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


WORKBOOK = _tiny_workbook()


def _outcome(folder: Path) -> str:
    """``"valid"`` or ``"invalid"``; any other exception fails the test."""
    try:
        validate(read_raw(folder))
    except DataContractError as err:
        assert err.problems
        for p in err.problems:
            assert p.file and p.expected and p.fix, p
            p.render()
        str(err)
        return "invalid"
    return "valid"


def _folder_with(table: str, data: bytes, base: Path) -> Path:
    d = write_tiny(base / "raw")
    (d / f"{table}.csv").write_bytes(data)
    return d


@FUZZ
@given(table=st.sampled_from(TABLES), data=st.binary(max_size=3000))
def test_random_bytes_in_a_csv(table, data):
    with tempfile.TemporaryDirectory() as tmp:
        _outcome(_folder_with(table, data, Path(tmp)))


@FUZZ
@given(table=st.sampled_from(TABLES), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
       cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3))
def test_truncated_and_damaged_csv(table, encoding, cut, flips):
    data = bytearray(_tiny_csv(table).encode(encoding))
    data = data[: int(len(data) * cut)]
    for where, byte in flips:
        if data:
            data[min(int(len(data) * where), len(data) - 1)] = byte
    with tempfile.TemporaryDirectory() as tmp:
        _outcome(_folder_with(table, bytes(data), Path(tmp)))


@FUZZ
@given(table=st.sampled_from(TABLES), encoding=st.sampled_from(ENCODINGS))
def test_csv_in_any_encoding(table, encoding):
    data = _tiny_csv(table).encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as tmp:
        outcome = _outcome(_folder_with(table, data, Path(tmp)))
    if encoding in ("utf-8", "utf-8-sig", "gb18030", "utf-16"):
        assert outcome == "valid", encoding  # the accepted encodings read back


def _mutated_workbook(data: bytes, mode: str, where: float, junk: bytes) -> bytes:
    """The tiny workbook with damage: raw bytes cut or overwritten, or one archive entry (a
    sheet, the shared strings, the workbook part) cut or overwritten inside a valid zip."""
    if mode == "cut":
        return data[: int(len(data) * where)]
    if mode == "overwrite":
        i = int(len(data) * where)
        return data[:i] + junk + data[i + len(junk):]
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    victim = names[int(where * (len(names) - 1))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            content = src.read(n)
            if n == victim:
                k = int(len(content) * where)
                content = content[:k] + junk if mode == "entry" else content[:k]
            z.writestr(n, content)
    return out.getvalue()


@FUZZ
@given(mode=st.sampled_from(["cut", "overwrite", "entry", "entry-cut"]), where=st.floats(0, 1),
       junk=st.binary(min_size=1, max_size=64))
def test_damaged_workbook(mode, where, junk):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "raw"
        d.mkdir()
        (d / "ledger.xlsx").write_bytes(_mutated_workbook(WORKBOOK, mode, where, junk))
        _outcome(d)


@settings(max_examples=20, deadline=None)
@given(data=st.binary(max_size=4000))
def test_random_bytes_as_a_workbook(data):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "raw"
        d.mkdir()
        (d / "ledger.xlsx").write_bytes(b"PK\x03\x04" + data)
        _outcome(d)


def test_the_undamaged_workbook_is_valid(tmp_path: Path):
    (tmp_path / "ledger.xlsx").write_bytes(WORKBOOK)
    assert _outcome(tmp_path) == "valid"


def test_fuzzed_inputs_through_the_real_command(tmp_path: Path):
    """A handful of damaged folders through ``pairing-eval validate`` in a real process: exit 0
    or 2, no traceback on either stream."""
    exe = Path(sys.executable).parent / "pairing-eval"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    rng = random.Random(20210101)
    folders = []
    for i, table in enumerate(["units", "activities", "institutions"]):
        folders.append(_folder_with(table, rng.randbytes(rng.randrange(1, 2000)), tmp_path / f"b{i}"))
    text = _tiny_csv("assessments").encode("utf-16-le")
    folders.append(_folder_with("assessments", text[: len(text) // 2], tmp_path / "utf16"))
    book = tmp_path / "book" / "raw"
    book.mkdir(parents=True)
    (book / "ledger.xlsx").write_bytes(_mutated_workbook(WORKBOOK, "entry", 0.6, b"<x>\x00&"))
    folders.append(book)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for d in folders:
        p = subprocess.run([str(exe), "validate", str(d)], capture_output=True, text=True,
                           env=env, timeout=120)
        assert p.returncode in (0, 2), p.stderr
        assert "Traceback" not in p.stdout + p.stderr, p.stderr
