"""The settings of the A-SSL vs H-SSL experiment: :class:`HsslConfig`, its presets (``cpu.yaml``, ``toy.yaml``)
beside this file, and the runs they ask for (:class:`Run`, :func:`plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from figures import configs
from neuroequi.errors import ConfigError

#: The folder of the presets ``<name>.yaml``.
PRESETS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Backbone:
    """A backbone of the experiment: its group and the structure it has (the table's columns)."""

    group: str
    structure: str


#: Backbones of the experiment: the equivariant one of each group and its "without structure" control.
BACKBONES = {
    "p4cnn": Backbone("rotation", "equivariant (p4)"),
    "p4cnn_control": Backbone("rotation", "none (emulated group axis)"),
    "z2cnn": Backbone("translation", "equivariant (translation)"),
    "z2cnn_control": Backbone("translation", "none (emulated grid)"),
    "sesn": Backbone("scale", "equivariant (SESN scales)"),
    "sesn_control": Backbone("scale", "none (free kernels per scale)"),
}
GROUPS = ("rotation", "translation", "scale")

#: The bundle settings of each group's table rows (``method.options`` of the training config): the
#: group-axis base and distance, and a 4x4-cell patch moved by up to 2 cells on the 8x8 grid.
GROUP_OPTIONS: dict[str, dict[str, Any]] = {
    "rotation": {"group": "rotation", "rotation_base": 1, "rotation_distance": 1, "grid_base": 4, "grid_distance": 2},
    "translation": {"group": "translation", "rotation_distance": 0, "grid_base": 4, "grid_distance": 2},
    "scale": {
        "group": "scale",
        "rotation_distance": 0,
        "scale_base": 1,
        "scale_distance": 5,
        "grid_base": 4,
        "grid_distance": 2,
    },
}
#: The option a Figure-3 sweep varies in each group: the base size ``|g0|`` and the topographic distance.
SWEEP_KEYS: dict[str, dict[str, str]] = {
    "base": {"rotation": "rotation_base", "translation": "grid_base", "scale": "scale_base"},
    "distance": {"rotation": "rotation_distance", "translation": "grid_distance", "scale": "scale_distance"},
}
Method = Literal["frozen", "assl", "hssl"]


@dataclass(frozen=True)
class HsslConfig:
    """Sizes of the experiment (see the presets for their measured run times).

    Attributes:
        train_images: CIFAR-10 training images for SSL (``data.subset`` of the training config).
        probe_train, probe_test: labelled training / test images of the linear probe (the same images for every run).
        epochs: SSL epochs.
        width: channel multiplier of the backbones (0.5: 8/16/32 per group element).
        threads: torch threads per run.
        parallel: runs side by side (one process each).
        seeds: training seeds; every table row is trained (or, ``frozen``, initialised) once per seed.
        probe_seed: seed of the probe's image subsets.
        n_boot: bootstrap resamples of the test images behind every interval.
        backbones: names in :data:`BACKBONES`; every backbone is run with every method.
        methods: ``frozen`` (random init, not trained), ``assl``, ``hssl``.
        scale_range: A-SSL's scale augmentation in the table (the paper's: shrink by a factor uniform in
            ``[0.57, 1]``); None: shrink by the scale elements of ``g1, g2`` (H-SSL's exact counterpart).
        sweeps: the Figure-3 sweeps, ``{"base" | "distance": {group: [values...]}}`` (see :data:`SWEEP_KEYS`);
            each value is a run of the group's equivariant backbone, the other settings as in the table.
        sweep_methods: methods of the sweep runs.
        sweep_seeds: training seeds of the sweep runs.
        train: further overrides of the training config ``neuroequi/configs/cifar10_hssl_p4_cpu.yaml``
            (nested or dotted mapping), e.g. ``train.optim.lr=0.001`` on the command line.
    """

    train_images: int
    probe_train: int
    probe_test: int
    epochs: int
    width: float
    threads: int
    parallel: int
    seeds: tuple[int, ...]
    probe_seed: int
    n_boot: int
    backbones: tuple[str, ...]
    methods: tuple[Method, ...]
    scale_range: tuple[float, float] | None = (0.57, 1.0)
    sweeps: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    sweep_methods: tuple[Method, ...] = ("hssl",)
    sweep_seeds: tuple[int, ...] = (0,)
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("train_images", "probe_train", "probe_test", "epochs", "threads", "parallel", "n_boot"):
            if getattr(self, name) < 1:
                raise ConfigError(f"hssl {name} must be >= 1, got {getattr(self, name)}")
        if self.probe_test < 2:
            raise ConfigError(f"hssl probe_test must be >= 2 (bootstrap over test images), got {self.probe_test}")
        unknown = sorted(set(self.backbones) - set(BACKBONES))
        if unknown or not self.backbones:
            raise ConfigError(f"hssl backbones {list(self.backbones)}: choose from {sorted(BACKBONES)}")
        for name in ("methods", "seeds", "sweep_seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"hssl {name} must be a non-empty list without repeats, got {list(values)}")
        if self.scale_range is not None:
            from neuroequi.augment.rescale import RandomDownscale  # here: the config module stays light (--help)

            RandomDownscale(tuple(self.scale_range))  # ConfigError outside (0, 1]
        for sweep, groups in self.sweeps.items():
            if sweep not in SWEEP_KEYS:
                raise ConfigError(f"hssl sweeps: unknown sweep {sweep!r}; choose from {sorted(SWEEP_KEYS)}")
            for group, values in groups.items():
                if group not in GROUPS:
                    raise ConfigError(f"hssl sweeps.{sweep}: unknown group {group!r}; choose from {list(GROUPS)}")
                if len(values) < 2 or sorted(set(values)) != list(values):
                    raise ConfigError(f"hssl sweeps.{sweep}.{group} must be >= 2 increasing values, got {values}")


@dataclass(frozen=True)
class Run:
    """One trained (or, ``frozen``, initialised) model: a backbone, a method, a seed and its bundle options
    beyond the group's table settings (sorted ``(key, value)`` pairs; empty for a table row)."""

    backbone: str
    method: str
    seed: int
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def group(self) -> str:
        return BACKBONES[self.backbone].group

    @property
    def name(self) -> str:
        """The run's name (its folder under ``<out>/runs`` and its training folder under ``<out>/train``)."""
        extra = "".join(f"_{key}{value}" for key, value in self.options)
        return f"{self.backbone}_{self.method}{extra}_seed{self.seed}"

    def method_options(self, scale_range: tuple[float, float] | None) -> dict[str, Any]:
        """``method.options`` overrides of the training config: the group's table settings, then the run's."""
        options = {**GROUP_OPTIONS[self.group], **dict(self.options)}
        if self.group == "scale" and self.method == "assl" and scale_range is not None:
            options["scale_range"] = list(scale_range)
        return options


def sweep_run(group: str, sweep: str, value: int, method: str, seed: int, grid: int = 8) -> Run:
    """The run of a Figure-3 sweep point (equivariant backbone of ``group``); options equal to the table's are
    dropped, so the table's own setting is the table's run. Grid and scale moves shrink to fit a larger base
    (``grid``: side of the output grid, 8 for 32-pixel images)."""
    backbone = next(name for name, b in BACKBONES.items() if b.group == group and not name.endswith("_control"))
    key = SWEEP_KEYS[sweep][group]
    options = {key: value}
    defaults = GROUP_OPTIONS[group]
    if key == "grid_base":
        options["grid_distance"] = min(defaults["grid_distance"], grid - value)
    if key == "scale_base":
        from neuroequi.hssl.scale import PAPER_SCALES

        options["scale_distance"] = min(defaults["scale_distance"], len(PAPER_SCALES) - value)
    changed = tuple(sorted((k, v) for k, v in options.items() if defaults.get(k) != v))
    return Run(backbone, method, seed, changed)


def plan(config: HsslConfig) -> list[Run]:
    """Every run of the experiment, each once: the table (backbone x method x seed, in the config's order),
    then the sweep points not already in the table."""
    runs = [Run(b, m, s) for b in config.backbones for m in config.methods for s in config.seeds]
    for sweep, groups in config.sweeps.items():
        for group, values in groups.items():
            runs += [
                sweep_run(group, sweep, v, m, s)
                for v in values
                for m in config.sweep_methods
                for s in config.sweep_seeds
            ]
    return list(dict.fromkeys(runs))


def preset(name: str = "cpu", overrides: tuple[str, ...] | list[str] = ()) -> HsslConfig:
    """The preset ``<name>.yaml`` (``cpu``, ``toy``) with ``key=value`` ``overrides``."""
    return configs.preset(HsslConfig, PRESETS, name, overrides)
