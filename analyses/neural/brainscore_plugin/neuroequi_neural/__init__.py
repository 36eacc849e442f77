"""Brain-Score benchmark plugin: neuroequi's local benchmarks on real recordings (see analyses.neural).

Rendered from the benchmark folders (analyses/neural/benchmarks/*/__init__.py) by
analyses.neural.registry.render_bridge: every local identifier but Brain-Score's own, one literal
line each (Brain-Score's plugin finder reads this file's text). Do not edit.
"""
from brainscore_vision import benchmark_registry

from analyses.neural.registry import local_benchmarks

benchmark_registry['Cowley2023.V4-pls'] = local_benchmarks()['Cowley2023.V4-pls']
benchmark_registry['Cowley2023-210325.V4-pls'] = local_benchmarks()['Cowley2023-210325.V4-pls']
benchmark_registry['Cowley2023-selection.V4-pls'] = local_benchmarks()['Cowley2023-selection.V4-pls']
benchmark_registry['Kiani2007.IT-rdm'] = local_benchmarks()['Kiani2007.IT-rdm']
benchmark_registry['Kriegeskorte2008.hIT-rdm'] = local_benchmarks()['Kriegeskorte2008.hIT-rdm']
benchmark_registry['Kriegeskorte2008.hIT-subjects-rdm'] = local_benchmarks()['Kriegeskorte2008.hIT-subjects-rdm']
