"""The message catalogue (:mod:`analysis.messages`): both languages for every entry, the same
placeholders, messages that keep their key and parameters (so one object renders in either
language, pickles, and reads as its English text everywhere a string is expected)."""

from __future__ import annotations

import pickle
import string

import pytest

from analysis import labels
from analysis.contract import DATE_SPELLINGS, KIND_TEXT, PERIOD_SPELLINGS, TABLES
from analysis.errors import DataContractError, Problem, rule_from_expected
from analysis.messages import HELP, MESSAGES, Label, Msg, catalogue, joined, say, text


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_and_the_same_placeholders(key: str):
    entry = MESSAGES[key]
    assert entry.zh.strip() and entry.en.strip()
    zh, en = _fields(entry.zh), _fields(entry.en)
    # English may need a parameter Chinese does not (a plural ending, a month's English name);
    # Chinese writes the month as a number
    assert en - zh <= {"month", "ies", "s"}, f"{key}: Chinese leaves out {en - zh}"
    assert zh - en <= ({"m"} if "month" in en else set()), f"{key}: Chinese alone uses {zh - en}"


def test_chinese_texts_are_chinese():
    neutral = {"loc.file", "loc.row", "loc.column", "column.as_written", "build.row_count",
               "xlsx.part_size", "cli.dataset", "rules.validate.file_count", "kind.range",
               "build.table_line", "build.where_sheet", "errors.example", "errors.rows",
               "loc.where_sheet", "loc.source", "loc.sheet", "errors.more", "errors.hidden",
               "problem.value", "rules.foreign.hint", "build.step", "xlsx.part.sheet",
               "xlsx.part.other", "limits.chars", "csv.codec.expected", "csv.bom.expected",
               "cell.range.min0.expected", "cell.range.min.expected", "cell.range.max.expected",
               "spell.period", "cell.enum.expected", "cell.period.range.expected",
               "cell.date.range.expected", "cell.range.expected", "build.valid_rows"}
    for key, entry in MESSAGES.items():
        if key in neutral:
            continue
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.zh), key


def test_english_matches_the_contract_constants():
    assert Msg("spell.date") == DATE_SPELLINGS and Msg("spell.period") == PERIOD_SPELLINGS
    for kind, words in KIND_TEXT.items():
        assert Msg(f"kind.{kind}") == words
    for t in TABLES.values():
        for c in t.columns:
            assert c.type_msg() == c.type_text()


def test_a_message_is_its_english_text_and_renders_chinese():
    m = Msg("cell.range.expected", lo=0, hi=100)
    assert m == "a value between 0 and 100" and isinstance(m, str) and str(m) == m
    assert m.render("zh") == "0到100之间的数值" and m.render("en") == m
    assert say(m, "zh") == m.render("zh") and say("plain", "zh") == "plain"
    assert rule_from_expected(m) == "value_between_N_and_N"  # rules are named in English
    nested = Msg("cell.date.real.expected", spellings=Msg("spell.date"))
    assert nested.render("zh") == "真实存在的日期（YYYY-MM-DD、YYYY/M/D、YYYY年M月D日或 Excel 日期序号）"
    both = Msg("rules.unique.expected", what=Label("institution_id和period", "institution_id and period"))
    assert "institution_id and period" in both and "institution_id和period" in both.render("zh")
    assert repr(m).startswith("Msg('cell.range.expected'")


def test_a_message_pickles_with_its_key_and_parameters():
    m = Msg("rules.foreign.fix", hint=Msg("rules.foreign.hint", close="U01"), pcol="unit_id",
            value="U9", where="units.csv")
    back = pickle.loads(pickle.dumps(m))
    assert back == m and back.key == m.key and back.render("zh") == m.render("zh")
    assert "请更正编号（是否应为 'U01'？）" in back.render("zh")


def test_an_unknown_key_is_a_programming_error():
    with pytest.raises(KeyError):
        Msg("no.such.message")


def test_the_same_error_renders_in_either_language():
    p = Problem(file="评估.csv", row=19, column=Msg("column.as_written", header="幸福指数",
                                                    name="happiness_score"),
                value="130", expected=Msg("cell.range.expected", lo=0, hi=100),
                fix=Msg("cell.range.score.fix"), table="assessments")
    assert p.render() == ("评估.csv, row 19, column 幸福指数 (happiness_score): value '130': "
                          "expected a value between 0 and 100. Fix: scores are on a 0–100 scale; "
                          "correct the score")
    assert p.render("zh") == ("文件 评估.csv，第19行，“幸福指数（happiness_score）”列：值为 '130'，"
                              "应为0到100之间的数值。如何改正：得分采用 0–100 分制；请更正该得分。")
    err = DataContractError([p] * 25)  # grouped: more than SHOW_ALL
    zh = err.summary(language="zh")
    assert zh.startswith("原始数据中发现25个问题：\n共25个问题，按表、列和规则分为1组")
    assert " — 第19, 19, 19, 19, 19, 19, 19, 19 …行" in zh and "例如 文件 评估.csv" in zh
    assert zh.endswith("逐行列出全部问题：`pairing-eval validate 文件夹 --output problems.csv`（可用 Excel 打开）。")
    en = err.summary()
    assert en == str(err) and "25 problems in 1 group(s)" in en and "应为" not in en
    back = pickle.loads(pickle.dumps(err))
    assert back.summary(language="zh") == zh


def test_labels_share_the_mechanism():
    assert labels.catalogue is catalogue and labels.text is text
    assert labels.LANGUAGES == ("zh", "en")
    assert joined(["a", Msg("noun.count")], "zh") == "a、计数"
    assert joined(["a", Msg("noun.count")], "en") == "a, counts"


def test_help_and_messages_do_not_share_keys():
    assert not set(HELP) & set(MESSAGES)
