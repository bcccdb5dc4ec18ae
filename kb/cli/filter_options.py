"""The filter options of `kb search`, `kb matrix` and `kb export`: one typer option per `Filters` field.

Built from `kb.query.filters.FILTER_HELP`, so the three commands cannot drift apart; each command
turns its options into `Filters` through the kb.api function it calls.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kb.query.filters import FILTER_HELP

Group = Annotated[str | None, typer.Option(help=FILTER_HELP["group"])]
Case = Annotated[str | None, typer.Option(help=FILTER_HELP["case"])]
PlatformType = Annotated[str | None, typer.Option("--platform-type", help=FILTER_HELP["platform_type"])]
Factor = Annotated[str | None, typer.Option(help=FILTER_HELP["factor"])]
Polarity = Annotated[str | None, typer.Option(help=FILTER_HELP["polarity"])]
Reviewed = Annotated[bool, typer.Option("--reviewed", help=FILTER_HELP["reviewed"])]
MinConfidence = Annotated[float, typer.Option("--min-confidence", help=FILTER_HELP["min_confidence"])]
Source = Annotated[str | None, typer.Option(help=FILTER_HELP["source"])]

__all__ = ["Case", "Factor", "Group", "MinConfidence", "PlatformType", "Polarity", "Reviewed"]
