"""The ``pairing-eval`` command. It only parses options and calls into the package; every
``AnalysisError`` becomes a readable message and its exit code (2 for bad data or options),
never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import AnalysisError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Evaluate 一老一小 paired-assistance programmes: validate ledgers, build, report.",
)

DEFAULT_RAW = Path("data/raw/demo")


def _fail(err: AnalysisError) -> None:
    render = getattr(err, "render", None)
    text = render() if callable(render) else str(err)
    typer.echo(f"Error: {text}", err=True)
    raise typer.Exit(code=err.exit_code)


@app.command()
def validate(
    raw_dir: Annotated[Path, typer.Argument(help="folder of raw tables (CSV files or one XLSX)")] = DEFAULT_RAW,
) -> None:
    """Check a raw data folder against the data contract; exit 0 when valid, 2 when not."""
    from .build import validate_raw

    try:
        report = validate_raw(raw_dir)
    except AnalysisError as err:
        _fail(err)
    typer.echo(report.render())


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
) -> None:
    """Generate the synthetic demo world (deterministic from the seed) with TRUTH.json."""
    from .synth import write_demo

    try:
        written = write_demo(out, seed=seed)
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
    dataset: Annotated[str, typer.Option(help="dataset name (folder under data/processed)")] = "demo",
    county: Annotated[list[str] | None, typer.Option(help="county code; repeat for several")] = None,
    all_counties: Annotated[bool, typer.Option("--all", help="every county of the dataset")] = False,
    jobs: Annotated[int, typer.Option(help="counties run in parallel")] = 2,
    lang: Annotated[str, typer.Option(help="report language: zh or en")] = "zh",
    force: Annotated[bool, typer.Option(help="re-run reports that are up to date")] = False,
    threshold: Annotated[int, typer.Option(help="suppress counts of people below this")] = 10,
) -> None:
    """Execute the county report notebook per county, the city summary and index.html."""
    from .reports import run_reports

    try:
        outcome = run_reports(
            dataset=dataset,
            counties=None if all_counties or not county else list(county),
            jobs=jobs,
            language=lang,
            force=force,
            threshold=threshold,
            echo=typer.echo,
        )
    except AnalysisError as err:
        _fail(err)
    typer.echo(outcome.render())
    if not outcome.ok:
        raise typer.Exit(code=1)


def main() -> None:  # pragma: no cover
    app(prog_name="pairing-eval")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
