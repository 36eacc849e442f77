"""``neuroequi report``: every benchmark, layer and measure of one or several models (:mod:`figures.report.pipeline`)."""

from figures.report.config import ReportConfig
from figures.report.pipeline import report

__all__ = ["ReportConfig", "report"]
