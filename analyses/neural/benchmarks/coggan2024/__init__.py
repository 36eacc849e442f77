"""Brain-Score's own ``tong.Coggan2024_fMRI.{V1,V2,V4,IT}-rdm`` on their packaged files (registers only;
:mod:`analyses.neural.coggan2024`). Brain-Score registers these identifiers itself: the bridge leaves them."""

from functools import partial

from analyses.neural.coggan2024 import COGGAN_BENCHMARKS, coggan_benchmark
from analyses.neural.registry import register

for _name in COGGAN_BENCHMARKS:
    register(_name, partial(coggan_benchmark, _name), brainscore_own=True)
