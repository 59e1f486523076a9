"""The Chinese documentation stays in step with the English: every English page of the
researcher's documentation has its counterpart under ``docs/zh/`` with the same heading structure
(the same number of headings at each level, in the same order), the Chinese README starts with the
same two commands and is linked from the top of the English one, and the Chinese data contract is
generated from the contract like the English one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.contract import TABLES, render_markdown
from analysis.contract.markdown import ZH_RULES, ZH_TEXT

REPO = Path(__file__).resolve().parents[1]
#: English page -> its Chinese counterpart
PAGES = {
    "docs/guide.md": "docs/zh/guide.md",
    "docs/report_sections.md": "docs/zh/report_sections.md",
    "docs/caveats.md": "docs/zh/caveats.md",
    "docs/data_contract.md": "docs/zh/data_contract.md",
    "README.md": "README.zh-CN.md",
}
_HEADING = re.compile(r"^(#{1,6})\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


def headings(text: str) -> list[int]:
    """The level of every Markdown heading of ``text``, in order (lines inside fenced code
    blocks are not headings)."""
    levels, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING.match(line)
        if m:
            levels.append(len(m[1]))
    return levels


def test_headings_ignore_code_blocks():
    text = "# A\n\n```bash\n# a comment\n```\n## B\n### C\n#no heading\n## D\n"
    assert headings(text) == [1, 2, 3, 2]


@pytest.mark.parametrize("english, chinese", PAGES.items())
def test_every_page_has_its_chinese_counterpart_with_the_same_headings(english: str, chinese: str):
    en = (REPO / english).read_text(encoding="utf-8")
    zh_path = REPO / chinese
    assert zh_path.is_file(), f"{chinese} is missing: write the Chinese page of {english}"
    zh = zh_path.read_text(encoding="utf-8")
    assert headings(zh) == headings(en), (
        f"{chinese} does not have the heading structure of {english} "
        f"(levels {headings(zh)} vs {headings(en)}): bring the Chinese page in step")
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert han > 0.25 * len(re.sub(r"\s", "", zh)) / 2, f"{chinese} is hardly Chinese"


def test_the_chinese_readme_starts_with_the_same_two_commands():
    def first_block(text: str) -> list[str]:
        block = text.split("```bash\n", 1)[1].split("```", 1)[0]
        return [line.split("#")[0].strip() for line in block.strip().splitlines()]

    en = (REPO / "README.md").read_text(encoding="utf-8")
    zh = (REPO / "README.zh-CN.md").read_text(encoding="utf-8")
    assert first_block(zh) == first_block(en) == ["make reports", "make test"]
    assert "[中文](README.zh-CN.md)" in en.splitlines()[2]
    assert "[English](README.md)" in zh.splitlines()[2]


def test_the_chinese_data_contract_is_generated_from_the_contract():
    page = (REPO / "docs" / "zh" / "data_contract.md").read_text(encoding="utf-8")
    assert page == render_markdown("zh"), (
        "docs/zh/data_contract.md is out of date: regenerate it with "
        "python -c 'from analysis.contract import render_markdown; "
        "print(render_markdown(\"zh\"), end=\"\")' > docs/zh/data_contract.md")


def test_every_table_and_column_has_its_chinese_description():
    keys = {t.name for t in TABLES.values()} | {f"{t.name}.{c.name}" for t in TABLES.values()
                                                for c in t.columns}
    assert set(ZH_TEXT) == keys
    for t in TABLES.values():
        assert len(ZH_RULES[t.name]) == len(t.rules), t.name


def test_chinese_pages_link_to_existing_files():
    for chinese in PAGES.values():
        path = REPO / chinese
        for target in re.findall(r"\]\(([^)#]+\.md)\)", path.read_text(encoding="utf-8")):
            assert (path.parent / target).is_file(), f"{chinese} links to a missing {target}"
