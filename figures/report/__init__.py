"""``neuroequi report``: every benchmark, layer and measure of one or several models (:mod:`figures.report.pipeline`).

The names below are imported on first use (PEP 562), so importing the package (e.g. for its
config, when ``neuroequi report --help`` runs) loads no torch.
"""

from neuroequi.lazy import lazy_exports

__all__ = ["ReportConfig", "report"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"ReportConfig": "figures.report.config", "report": "figures.report.pipeline"}
)
