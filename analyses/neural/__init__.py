"""Neural predictivity: local Brain-Score benchmarks on real recordings, and Brain-Score's online IT benchmarks.

:func:`load_benchmark` turns an identifier into a Brain-Score benchmark object:

* local (offline, data directory), one folder each under ``analyses/neural/benchmarks/``
  (Brain-Score's plugin layout; :mod:`analyses.neural.registry`): ``Cowley2023.V4-pls``,
  ``Cowley2023-<session>.V4-pls`` (any session present, e.g. ``Cowley2023-210325.V4-pls``),
  ``Kiani2007.IT-rdm``, ``Kriegeskorte2008.hIT-rdm`` (shared definitions in
  :mod:`analyses.neural.benchmarks`), ``Kriegeskorte2008.hIT-subjects-rdm``
  (:mod:`analyses.neural.benchmarks.kriegeskorte2008.subjects`), and Brain-Score's own ``tong.Coggan2024_fMRI.{V1,V2,V4,IT}-rdm``
  on their packaged files (:mod:`analyses.neural.coggan2024`);
* online, through ``brainscore_vision`` (:mod:`analyses.neural.online`):
  ``MajajHong2015public.IT-pls``, ``MajajHong2015.IT-pls``, ``Sanghavi2020.IT-pls``,
  ``SanghaviJozwik2020.IT-pls``, ``SanghaviMurty2020.IT-pls``.

Each benchmark carries ``ceiling_formula``, a sentence saying how its score is ceiled.
:func:`analyses.neural.scoring.score` scores a model on one and caches the result;
:func:`install_plugins` links the zoo's model plugins and the local benchmark
plugin into ``brainscore_vision``.
"""

from __future__ import annotations

import re
from pathlib import Path

from analyses.neural.online import ONLINE_BENCHMARKS
from analyses.neural.registry import local_benchmarks
from neuroequi.errors import ConfigError

#: Brain-Score benchmark plugin folder registering the local benchmarks (linked by `neuroequi brainscore install`).
BENCHMARK_PLUGIN_DIR = Path(__file__).resolve().parent / "brainscore_plugin" / "neuroequi_neural"
_SESSION_RE = re.compile(r"^Cowley2023-(\d{6})\.V4-pls$")


def benchmark_names() -> list[str]:
    """Every benchmark identifier :func:`load_benchmark` accepts by name (local first)."""
    return [*local_benchmarks(), *ONLINE_BENCHMARKS]


def is_online(identifier: str) -> bool:
    """True for Brain-Score's online benchmarks (data from S3)."""
    return identifier in ONLINE_BENCHMARKS


def check_benchmark(identifier: str) -> str:
    """``identifier`` when :func:`load_benchmark` knows it (checked without loading any data); ConfigError
    listing the known ones otherwise."""
    if identifier in local_benchmarks() or _SESSION_RE.match(identifier) or is_online(identifier):
        return identifier
    raise ConfigError(
        f"unknown benchmark {identifier!r}; known: {benchmark_names()} "
        "and Cowley2023-<session>.V4-pls for any session in the data directory"
    )


#: Offline benchmark objects built ahead by :func:`preload_benchmarks` (identifier -> object).
_PRELOADED: dict[str, object] = {}


def preload_benchmarks(identifiers: list[str] | tuple[str, ...], image_sizes: tuple[int, ...] = ()) -> None:
    """Build the offline benchmarks ``identifiers`` now (their recordings and stimuli loaded) and have
    :func:`load_benchmark` hand out these objects in this process and in every process forked from it;
    for each of ``image_sizes``, also decode their stimuli as placed on a model's screen (the default
    visual degrees) at that size into the zoo's image cache (:func:`model_zoo.activations.cache_images`),
    so that scoring a model of that input size decodes none of them.

    For a parent that forks many scoring jobs (the warm launcher of local jobs, ``figures.forkserver``):
    each child starts with the data in memory instead of reading it again. Online benchmarks are
    skipped (their data comes at scoring time).
    """
    for identifier in identifiers:
        if not is_online(identifier):
            _PRELOADED[identifier] = _build_benchmark(check_benchmark(identifier))
    if image_sizes:
        from analyses.neural.activation_store import placed_stimulus_sets, stimulus_paths
        from model_zoo.activations import cache_images

        built = [_PRELOADED[identifier] for identifier in identifiers if identifier in _PRELOADED]
        paths = [
            path for screen in placed_stimulus_sets(built, _visual_degrees()) for path in stimulus_paths(screen)[0]
        ]
        for size in image_sizes:
            cache_images(paths, size)


def load_benchmark(identifier: str):
    """The Brain-Score benchmark object for ``identifier`` (see the module docstring); the one built by
    :func:`preload_benchmarks` where there is one.

    Raises:
        ConfigError: unknown identifier (the message lists the known ones).
        OfflineError: an online benchmark whose data cannot be fetched.
    """
    if identifier in _PRELOADED:
        return _PRELOADED[identifier]
    return _build_benchmark(identifier)


def _build_benchmark(identifier: str):
    """A new benchmark object for ``identifier`` (:func:`load_benchmark`)."""
    local = local_benchmarks()
    if identifier in local:
        return local[identifier]()
    match = _SESSION_RE.match(identifier)
    if match:
        from analyses.neural.benchmarks import session_pls

        return session_pls(match.group(1))
    if is_online(identifier):
        from analyses.neural.online import load_online_benchmark

        return load_online_benchmark(identifier)
    raise ConfigError(
        f"unknown benchmark {identifier!r}; known: {benchmark_names()} "
        "and Cowley2023-<session>.V4-pls for any session in the data directory"
    )


def run_benchmark(benchmark, candidate):
    """``score_benchmark(benchmark, candidate)``, failing fast offline for online benchmarks."""
    from brainscore_core.benchmarks import score_benchmark

    if is_online(benchmark.identifier):
        from analyses.neural.online import score_online

        return score_online(benchmark, candidate)
    return score_benchmark(benchmark, candidate)


def place_stimuli_on_screen(identifiers, target_visual_degrees: float | None = None) -> None:
    """Brain-Score's ``place_on_screen`` for the stimuli of local benchmarks, once, in this process.

    ``place_on_screen`` rebuilds its output folder (``~/.brain-score/stimuli_on_screen``) and
    caches the result, keyed by its arguments as written; two processes that score at once
    must find it cached, or one deletes the images the other is writing. Call this before
    scoring in parallel processes. ``target_visual_degrees``: the models' commitment
    (default: ``ModelCommitment``'s own default, the value our models use, as the same type).
    """
    from brainscore_vision.benchmark_helpers.screen import place_on_screen

    from analyses.neural.benchmarks import benchmark_stimuli

    if target_visual_degrees is None:
        target_visual_degrees = _visual_degrees()
    for identifier in identifiers:
        if is_online(identifier):
            continue
        for stimulus_set, degrees in benchmark_stimuli(load_benchmark(identifier)):
            place_on_screen(stimulus_set, target_visual_degrees=target_visual_degrees, source_visual_degrees=degrees)


def _visual_degrees():
    """The visual degrees of a model's screen by default: ``ModelCommitment``'s own default, as its type."""
    import inspect

    from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

    return inspect.signature(ModelCommitment).parameters["visual_degrees"].default


def install_plugins(home: Path | None = None) -> list[Path]:
    """Link the zoo's model plugins (:func:`model_zoo.brainscore.install`, the user family rendered
    from the zoo home ``home``) and the local benchmark plugin into ``brainscore_vision``; the links."""
    from model_zoo.brainscore import install

    return install(extra={f"benchmarks/{BENCHMARK_PLUGIN_DIR.name}": BENCHMARK_PLUGIN_DIR}, home=home)


def uninstall_plugins() -> list[Path]:
    """Remove the links :func:`install_plugins` makes (only symlinks); the removed links."""
    from model_zoo.brainscore import uninstall

    return uninstall(extra=(f"benchmarks/{BENCHMARK_PLUGIN_DIR.name}",))


__all__ = [
    "BENCHMARK_PLUGIN_DIR",
    "ONLINE_BENCHMARKS",
    "local_benchmarks",
    "benchmark_names",
    "check_benchmark",
    "install_plugins",
    "is_online",
    "load_benchmark",
    "place_stimuli_on_screen",
    "run_benchmark",
    "uninstall_plugins",
]
