"""The ``pairing-eval`` command. It only parses options and calls into the package; every
``AnalysisError`` becomes a readable message and its exit code (2 for bad data or options),
never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .domain import DISCLOSURE_THRESHOLD
from .errors import AnalysisError, DataContractError, SpecificationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Evaluate 一老一小 paired-assistance programmes: validate ledgers, build, report.",
)

DEFAULT_RAW = Path("data/raw/demo")


def _fail(err: AnalysisError, hint: str | None = None) -> None:
    """Print the error as advice (a data-contract error as its summary) and exit with its code."""
    text = err.summary(hint=hint) if isinstance(err, DataContractError) else str(err)
    typer.echo(f"Error: {text}", err=True)
    raise typer.Exit(code=err.exit_code)


@app.command()
def validate(
    raw_dir: Annotated[Path, typer.Argument(help="folder of raw tables (CSV files or one XLSX)")] = DEFAULT_RAW,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o",
        help="also write every problem to this CSV file, one per row (table, file, sheet, row, "
             "column, rule, value, expected, fix; UTF-8 with BOM for Excel); not inside the raw "
             "folder")] = None,
) -> None:
    """Check a raw data folder against the data contract; exit 0 when valid, 2 when not.

    Many problems are counted by table, column and rule; --output writes every one.
    """
    from .build.engine import check_problems_output, validate_raw, write_problems

    try:
        if output is not None:
            check_problems_output(output, raw_dir)
        try:
            report = validate_raw(raw_dir)
        except DataContractError as err:
            if output is None:
                raise
            try:
                write_problems(err.problems, output)
                hint = f"Every problem ({len(err.problems):,}) is listed in {output}."
            except OSError as oe:
                hint = f"The full list could not be written to {output}: {oe.strerror or oe}."
            _fail(err, hint=hint)
        if output is not None:
            write_problems([], output)
    except AnalysisError as err:
        _fail(err)
    except OSError as oe:
        typer.echo(f"Error: --output {output} could not be written: {oe.strerror or oe}.",
                   err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.render())
    if output is not None:
        typer.echo(f"No problems: {output} holds the header of an empty list.")


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
) -> None:
    """Validate, then write data/processed/<dataset>/: tables, panel, manifest and results/."""
    from .build import BuildOptions
    from .pipeline import build as run_build

    try:
        options = BuildOptions(n_boot=n_boot, n_perm=n_perm, seed=seed)
        outcome = run_build(raw_dir, options=options, force=force, out_root=out_root,
                            echo=typer.echo)
    except AnalysisError as err:
        _fail(err)
    typer.echo(outcome.render())


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
) -> None:
    """Generate the synthetic demo world (deterministic from the seed) with TRUTH.json; with
    --targeting or --supply-sd a targeting world (docs/demo_world.md)."""
    from .synth import write_demo

    try:
        written = write_demo(out, seed=seed, targeting=targeting, supply_sd=supply_sd,
                             effect_scale=effect_scale)
    except AnalysisError as err:
        _fail(err)
    typer.echo(f"Wrote {len(written)} files to {out} (synthetic, seed {seed}).")


@app.command()
def template(
    out: Annotated[Path, typer.Argument(help="path of the .xlsx template to write")],
    with_data: Annotated[
        Path | None, typer.Option(help="fill the template with the tables of this raw folder")
    ] = None,
) -> None:
    """Write the Excel template researchers send to departments (bilingual headers, dropdowns)."""
    from .template import write_template

    try:
        write_template(out, data_dir=with_data)
    except AnalysisError as err:
        _fail(err)
    typer.echo(f"Wrote template {out}")


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
) -> None:
    """Execute the county report notebook per county, the city summary and index.html."""
    from .paths import DatasetNameError, check_dataset
    from .reports import run_reports

    try:
        check_dataset(dataset)
    except DatasetNameError as err:
        typer.echo(f"Error: --dataset: {err}", err=True)
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
            echo=typer.echo,
            accept_small_counts=accept_small_counts,
            pdf=pdf,
        )
    except AnalysisError as err:
        _fail(err)
    typer.echo(outcome.render())
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
        raise SpecificationError(f"--jobs {jobs}: at least 1 report must run at a time; "
                                 "use --jobs 1 for one after the other.")
    cpus = _cpus()
    if jobs > cpus:
        typer.echo(f"Note: --jobs {jobs} is more than the {cpus} CPU(s) of this machine; "
                   f"running {cpus} at a time.")
        return cpus
    return jobs


def main() -> None:  # pragma: no cover
    app(prog_name="pairing-eval")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
