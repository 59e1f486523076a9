"""The ``pairing-eval`` command. It only parses options and calls into the package; every
``AnalysisError`` becomes a readable message and its exit code (2 for bad data or options),
never a traceback.

Language: every command takes ``--lang zh|en``; without it the locale decides (``LANG`` etc.
starting with ``zh``: Chinese), else English (:func:`analysis.messages.resolve_language`). The
language is resolved from the arguments before click parses them, so that ``--help`` too is in
that language: the help texts come from :data:`analysis.messages.HELP` (key ``help.<command>``
and ``help.<command>.<parameter>``), set on the commands by :class:`_LocalisedGroup`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.rich_utils
from typer.core import TyperGroup

from .domain import DISCLOSURE_THRESHOLD
from .errors import AnalysisError, DataContractError, SpecificationError
from .messages import LANGUAGES, Msg, help_text, resolve_language, say

#: the language of this invocation's messages (set from the arguments before they are parsed)
_STATE = {"language": "en"}
#: typer's English help and error decorations (``typer.rich_utils``) and their Chinese
_PANELS = {"ARGUMENTS_PANEL_TITLE": ("参数", "Arguments"),
           "OPTIONS_PANEL_TITLE": ("选项", "Options"),
           "COMMANDS_PANEL_TITLE": ("命令", "Commands"),
           "ERRORS_PANEL_TITLE": ("错误", "Error"),
           "DEFAULT_STRING": ("[默认：{}]", "[default: {}]"),
           "REQUIRED_LONG_STRING": ("[必填]", "[required]"),
           "ABORTED_TEXT": ("已中止。", "Aborted."),
           "RICH_HELP": ("运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
                         "Try [blue]'{command_path} {help_option}'[/] for help.")}


class _LocalisedGroup(TyperGroup):
    """The command group: resolves the language from the raw arguments (``--lang`` or the
    locale) and sets every help text from the catalogue before click parses anything."""

    def make_context(self, info_name, args, parent=None, **extra):  # noqa: ANN001, ANN201
        language = resolve_language(args)
        _STATE["language"] = language
        localise(self, language)
        return super().make_context(info_name, args, parent=parent, **extra)


def localise(group, language: str) -> None:  # noqa: ANN001 - a click group
    """Set the help of ``group``, its commands and their parameters in ``language`` from
    :data:`analysis.messages.HELP`; parameters without an entry keep their help."""
    group.help = help_text("help.app", language)
    for cmd in (group, *group.commands.values()):
        _localise_help_option(cmd, language)
    for name, cmd in group.commands.items():
        text = help_text(f"help.{name}", language)
        if text is not None:
            cmd.help = text
            cmd.short_help = text.split("\n")[0]
        for param in cmd.params:
            key = "help.lang" if param.name == "lang" and name != "report" else f"help.{name}.{param.name}"
            text = help_text(key, language)
            if text is not None:
                param.help = text
    for param in group.params:
        if param.name == "lang":
            param.help = help_text("help.lang", language)
    for attr, (zh, en) in _PANELS.items():
        setattr(typer.rich_utils, attr, zh if language == "zh" else en)


def _localise_help_option(cmd, language: str) -> None:  # noqa: ANN001 - a click command
    """``--help``'s own help in ``language`` (click creates that option when it parses)."""
    original = type(cmd).get_help_option

    def get_help_option(ctx):  # noqa: ANN001, ANN202
        option = original(cmd, ctx)
        if option is not None:
            option.help = help_text("help.help", language)
        return option

    cmd.get_help_option = get_help_option


app = typer.Typer(
    cls=_LocalisedGroup,
    add_completion=False,
    no_args_is_help=True,
    help=help_text("help.app", "en"),
)

DEFAULT_RAW = Path("data/raw/demo")

#: ``--lang`` of every command (its value is read before parsing: see :class:`_LocalisedGroup`)
Lang = Annotated[str | None, typer.Option("--lang", help=help_text("help.lang", "en"))]


def _language(lang: str | None) -> str:
    """The language of this command's messages; refuses a ``--lang`` that is neither."""
    if lang is not None and lang not in LANGUAGES:
        typer.echo(say(Msg("cli.error", text=Msg("cli.lang.bad", value=lang)), _STATE["language"]),
                   err=True)
        raise typer.Exit(code=2)
    return lang or _STATE["language"]


@app.callback()
def _main(lang: Lang = None) -> None:
    """``pairing-eval --lang zh|en COMMAND``: the language before the command also counts."""
    _language(lang)


def _echo(language: str):  # noqa: ANN202
    """``typer.echo`` that renders messages of the catalogue in ``language``."""
    return lambda line, **kw: typer.echo(say(line, language), **kw)


def _fail(err: AnalysisError, hint: str | None = None, language: str | None = None) -> None:
    """Print the error as advice (a data-contract error as its summary) and exit with its code."""
    language = language or _STATE["language"]
    if isinstance(err, DataContractError):
        text = err.summary(hint=hint, language=language)
    else:
        text = say(err.args[0], language) if len(err.args) == 1 else str(err)
    typer.echo(Msg("cli.error", text=text).render(language), err=True)
    raise typer.Exit(code=err.exit_code)


@app.command()
def validate(
    raw_dir: Annotated[Path, typer.Argument(help="folder of raw tables (CSV files or one XLSX)")] = DEFAULT_RAW,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o",
        help="also write every problem to this CSV file, one per row (table, file, sheet, row, "
             "column, rule, value, expected, fix; UTF-8 with BOM for Excel); not inside the raw "
             "folder")] = None,
    lang: Lang = None,
) -> None:
    """Check a raw data folder against the data contract; exit 0 when valid, 2 when not.

    Many problems are counted by table, column and rule; --output writes every one.
    """
    from .build.engine import check_problems_output, validate_raw, write_problems

    language = _language(lang)
    try:
        if output is not None:
            check_problems_output(output, raw_dir)
        try:
            report = validate_raw(raw_dir)
        except DataContractError as err:
            if output is None:
                raise
            try:
                write_problems(err.problems, output, language=language)
                hint = Msg("cli.listed", n=len(err.problems), path=output)
            except OSError as oe:
                hint = Msg("cli.not_listed", path=output, why=oe.strerror or oe)
            _fail(err, hint=hint, language=language)
        if output is not None:
            write_problems([], output, language=language)
    except AnalysisError as err:
        _fail(err, language=language)
    except OSError as oe:
        typer.echo(Msg("cli.error", text=Msg("cli.output_failed", path=output,
                                             why=oe.strerror or oe)).render(language), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.render(language))
    if output is not None:
        typer.echo(Msg("cli.no_problems", path=output).render(language))


@app.command()
def build(
    raw_dir: Annotated[Path, typer.Argument(help="folder of raw tables")] = DEFAULT_RAW,
    force: Annotated[bool, typer.Option(help="rebuild even when the inputs are unchanged")] = False,
    out_root: Annotated[
        Path | None, typer.Option(help="processed root (default: data/processed next to data/raw)")
    ] = None,
    n_boot: Annotated[int, typer.Option(help="wild-bootstrap draws")] = 999,
    n_perm: Annotated[int, typer.Option(help="randomisation-inference permutations")] = 999,
    seed: Annotated[int, typer.Option(help="root random seed of the resampling methods")] = 20210101,
    steps: Annotated[str | None, typer.Option(
        help="run only these results steps and what they require, comma-separated "
             "(indicators, reform, effectiveness, allocation, describe; default: all)")] = None,
    lang: Lang = None,
) -> None:
    """Validate, then write data/processed/<dataset>/: tables, panel, manifest and results/."""
    from .build import BuildOptions
    from .pipeline import build as run_build

    language = _language(lang)
    try:
        only = None if steps is None else tuple(s.strip() for s in steps.split(",") if s.strip())
        if only is not None and not only:
            raise SpecificationError(f"--steps {steps!r} names no step; give one or more of "
                                     "indicators, effectiveness, reform, allocation, describe, "
                                     "comma-separated, or leave --steps out to run them all.")
        options = BuildOptions(n_boot=n_boot, n_perm=n_perm, seed=seed, steps=only)
        outcome = run_build(raw_dir, options=options, force=force, out_root=out_root,
                            echo=_echo(language))
    except AnalysisError as err:
        _fail(err, language=language)
    typer.echo(outcome.render(language))


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="folder to write the synthetic raw tables into")] = DEFAULT_RAW,
    seed: Annotated[int, typer.Option(help="random seed (the bundled demo uses 20210101)")] = 20210101,
    targeting: Annotated[float, typer.Option(
        help="strength with which help follows the previous quarter's shortfall (0: the demo)")] = 0.0,
    supply_sd: Annotated[float, typer.Option(
        help="SD of the units' quarterly supply shocks, log scale (0: the demo)")] = 0.0,
    effect_scale: Annotated[float, typer.Option(
        help="multiplies the planted dose-response effects (0: help has no effect)")] = 1.0,
    persistence: Annotated[float | None, typer.Option(
        help="AR(1) coefficient of a persistent institution shock to the scores (default: 0.7 in "
             "a targeting world, none in the demo; 0: none)")] = None,
    scale: Annotated[str, typer.Option(
        help="city (the demo), sichuan (183 counties) or national (about 2,850 counties)")] = "city",
    lang: Lang = None,
) -> None:
    """Generate the synthetic demo world (deterministic from the seed) with TRUTH.json; with
    --targeting or --supply-sd a targeting world (docs/demo_world.md)."""
    from .synth.scale import write_world

    language = _language(lang)
    try:
        written = write_world(out, scale=scale, seed=seed, targeting=targeting,
                              supply_sd=supply_sd, effect_scale=effect_scale,
                              persistence=persistence)
    except AnalysisError as err:
        _fail(err, language=language)
    typer.echo(Msg("cli.synth_wrote", n=len(written), out=out, seed=seed).render(language))


@app.command()
def template(
    out: Annotated[Path, typer.Argument(help="path of the .xlsx template to write")],
    with_data: Annotated[
        Path | None, typer.Option(help="fill the template with the tables of this raw folder")
    ] = None,
    lang: Lang = None,
) -> None:
    """Write the Excel template researchers send to departments (bilingual headers, dropdowns)."""
    from .template import write_template

    language = _language(lang)
    try:
        write_template(out, data_dir=with_data)
    except AnalysisError as err:
        _fail(err, language=language)
    typer.echo(Msg("cli.template_wrote", out=out).render(language))


@app.command()
def report(
    dataset: Annotated[str, typer.Option(
        help="dataset name: a plain folder name under data/processed (letters, digits, - and _), "
             "not a path")] = "demo",
    county: Annotated[list[str] | None, typer.Option(help="county code; repeat for several")] = None,
    all_counties: Annotated[bool, typer.Option("--all", help="every county of the dataset")] = False,
    jobs: Annotated[int, typer.Option(
        help="counties run in parallel (at least 1; capped at the CPU count)")] = 2,
    lang: Annotated[str, typer.Option(help="report language: zh or en")] = "zh",
    force: Annotated[bool, typer.Option(help="re-run reports that are up to date")] = False,
    threshold: Annotated[int, typer.Option(
        help="hide counts of people below this; below the default it needs "
             "--i-accept-small-counts")] = DISCLOSURE_THRESHOLD,
    accept_small_counts: Annotated[bool, typer.Option(
        "--i-accept-small-counts",
        help="allow a --threshold below the default: the data owner has agreed that counts "
             "that small may be shown; every page then says so")] = False,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="also print every page to an A4 PDF beside it (needs headless Chromium)")
    ] = False,
    scheduler: Annotated[str | None, typer.Option(
        help="run the reports on a running Dask cluster: its scheduler's address, e.g. "
             "tcp://HOST:8786 (without it they run in a local process pool)")] = None,
    data_url: Annotated[str | None, typer.Option(
        help="with --scheduler: where the workers read the processed data (a folder they all see "
             "or an fsspec URL); default this project's data/processed")] = None,
    warm: Annotated[bool, typer.Option(
        help="run report after report in kept kernels (state reset between reports); --no-warm "
             "starts a new kernel per report")] = True,
) -> None:
    """Execute the county report notebook per county, the city summary and index.html."""
    from .paths import DatasetNameError, check_dataset
    from .reports import run_reports

    try:
        check_dataset(dataset)
    except DatasetNameError as err:
        typer.echo(Msg("cli.error", text=Msg("cli.dataset", err=err)).render(_STATE["language"]),
                   err=True)
        raise typer.Exit(code=2) from None
    try:
        jobs = _check_jobs(jobs)
        outcome = run_reports(
            dataset=dataset,
            counties=None if all_counties or not county else list(county),
            jobs=jobs,
            language=lang,
            force=force,
            threshold=threshold,
            echo=_echo(_STATE["language"]),
            accept_small_counts=accept_small_counts,
            pdf=pdf,
            warm=warm,
            scheduler=scheduler,
            data_url=data_url,
        )
    except AnalysisError as err:
        _fail(err)
    typer.echo(outcome.render(_STATE["language"]))
    if not outcome.ok:
        raise typer.Exit(code=1)


def _cpus() -> int:
    """CPUs this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _check_jobs(jobs: int) -> int:
    """``--jobs``: at least 1; above the CPU count it is capped, with a note (more parallel
    kernels than CPUs only compete for them and for memory)."""
    if jobs < 1:
        raise SpecificationError(Msg("cli.jobs.low", jobs=jobs))
    cpus = _cpus()
    if jobs > cpus:
        typer.echo(Msg("cli.note", text=Msg("cli.jobs.capped", jobs=jobs, cpus=cpus))
                   .render(_STATE["language"]))
        return cpus
    return jobs


def main() -> None:  # pragma: no cover
    app(prog_name="pairing-eval")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
