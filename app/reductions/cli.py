"""Commands: recompute every stored reduction (the proof that each is recomputable)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.context import methodologies
from app.db import db
from app.reductions.services import Recomputation


@click.command("recompute")
@click.option("--batch-size", default=1000, show_default=True, help="Rows fetched at a time")
@click.option(
    "--progress-every", default=10_000, show_default=True, help="Report progress every N rows"
)
@with_appcontext
def recompute(batch_size: int, progress_every: int) -> None:
    """Recompute every stored reduction from its inputs and version; list any mismatch.

    Exits with status 1 when a reduction differs from its recomputation or cannot be recomputed.
    """
    with db.unit_of_work() as session:
        run = Recomputation(
            session,
            methodologies(),
            batch_size=batch_size,
            progress_every=progress_every,
            on_progress=lambda checked: click.echo(f"… {checked:,} checked", err=True),
        )
        for mismatch in run:
            if mismatch.problem:
                click.echo(
                    f"reduction {mismatch.reduction_id} ({mismatch.version}): {mismatch.problem}"
                )
            else:
                click.echo(
                    f"reduction {mismatch.reduction_id} ({mismatch.version}): "
                    f"stored {_figures(mismatch.stored)}, "
                    f"recomputed {_figures(mismatch.recomputed)}"
                )
    click.echo(f"{run.checked:,} reductions checked, {run.mismatches:,} mismatches")
    if run.mismatches:
        raise SystemExit(1)


def _figures(figures: dict[str, object] | None) -> str:
    if figures is None:
        return "-"
    return " ".join(f"{name}={value}" for name, value in figures.items())
