"""The 92 Kriegeskorte images: monkey-IT (Kiani 2007) and human-IT (Kriegeskorte 2008) RDMs (registers only;
the group-mean benchmarks are :class:`analyses.neural.benchmarks.KriegeskorteRDM`, the subject-level one
:mod:`.subjects`)."""

from functools import partial

from analyses.neural.benchmarks import KriegeskorteRDM
from analyses.neural.benchmarks.kriegeskorte2008.subjects import KriegeskorteSubjectsRDM
from analyses.neural.registry import register

register("Kiani2007.IT-rdm", partial(KriegeskorteRDM, "Kiani2007.IT-rdm"))
register("Kriegeskorte2008.hIT-rdm", partial(KriegeskorteRDM, "Kriegeskorte2008.hIT-rdm"))
register("Kriegeskorte2008.hIT-subjects-rdm", KriegeskorteSubjectsRDM)
