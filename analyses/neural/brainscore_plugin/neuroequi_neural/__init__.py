"""Brain-Score benchmark plugin: neuroequi's local benchmarks on real recordings (see analyses.neural)."""
from brainscore_vision import benchmark_registry

from analyses.neural import LOCAL_BENCHMARKS

benchmark_registry['Cowley2023.V4-pls'] = LOCAL_BENCHMARKS['Cowley2023.V4-pls']
benchmark_registry['Cowley2023-210325.V4-pls'] = LOCAL_BENCHMARKS['Cowley2023-210325.V4-pls']
benchmark_registry['Kiani2007.IT-rdm'] = LOCAL_BENCHMARKS['Kiani2007.IT-rdm']
benchmark_registry['Kriegeskorte2008.hIT-rdm'] = LOCAL_BENCHMARKS['Kriegeskorte2008.hIT-rdm']
