"""The 92 Kriegeskorte images: monkey-IT (Kiani 2007) and human-IT (Kriegeskorte 2008) RDMs (registers only;
the benchmark is :class:`analyses.neural.benchmarks.KriegeskorteRDM`)."""

from functools import partial

from analyses.neural.benchmarks import KriegeskorteRDM
from analyses.neural.registry import register

register("Kiani2007.IT-rdm", partial(KriegeskorteRDM, "Kiani2007.IT-rdm"))
register("Kriegeskorte2008.hIT-rdm", partial(KriegeskorteRDM, "Kriegeskorte2008.hIT-rdm"))
