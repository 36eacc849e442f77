"""Networks from outside the project: torchvision, timm, any module's callable, or one in memory.

An architecture is named by one string (the ``arch`` of a catalogue entry,
``neuroequi zoo add FILE --arch ARCH``):

``torchvision:<name>``
    ``torchvision.models.get_model(name, weights=None)`` (``torchvision.models.list_models()``);
``timm:<name>``
    ``timm.create_model(name, pretrained=False)`` (the optional extra ``timm``);
``module:<package.module>:<callable>``
    ``<callable>()`` of an importable module (your own code on ``PYTHONPATH``), returning an
    ``nn.Module``.

The weights come from a state dict file (:func:`neuroequi.checkpoint.load_state_dict_file`),
loaded with ``strict=True``. Preprocessing is "the model's own" where the library defines one
(torchvision: the input size, mean and std of the architecture's default pretrained weights'
transforms; timm: ``timm.data.resolve_data_config``), else 224 px and the ImageNet mean and std;
any of the three may be set instead. Images are resized to ``image_size`` squared (Brain-Score's
``load_preprocess_images``; no centre crop).

Default layers (:func:`default_layers`) are the architecture's stages: a network's own
``layer_names`` (the project's backbones); timm's ``feature_info`` modules and its global pool;
ResNet-like networks ``layer1``..``layer4`` and ``avgpool`` (torchvision's ResNets, ResNeXts,
wide ResNets); otherwise the top-level children before the classifier. The regions V1, V2, V4
and IT are mapped to layers spread evenly over the stages before the final pooling
(:func:`default_region_layer_map`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from neuroequi.errors import CheckpointError, ConfigError
from neuroequi.methods.base import IMAGENET_MEAN, IMAGENET_STD

#: The sources an ``arch`` may name, and how each is spelled.
SOURCES = {"torchvision": "torchvision:<name>", "timm": "timm:<name>", "module": "module:<package.module>:<callable>"}
#: Regions a default map assigns, input to output.
REGIONS = ("V1", "V2", "V4", "IT")
#: Names of a classifier child that the default layers leave out.
CLASSIFIER_NAMES = ("fc", "classifier", "head", "heads", "last_linear")
_SKIPPED = (nn.Dropout, nn.Identity, nn.Flatten)


@dataclass(frozen=True)
class Preprocessing:
    """Input side in pixels, per-channel mean and std (images scaled to [0, 1]), and where they came from."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str


def parse_arch(arch: str) -> tuple[str, str]:
    """``'torchvision:resnet18'`` -> ``('torchvision', 'resnet18')``; ``'module:pkg.mod:make'`` ->
    ``('module', 'pkg.mod:make')``. ConfigError naming the allowed spellings otherwise."""
    source, _, name = str(arch).partition(":")
    if source not in SOURCES or not name or (source == "module" and name.count(":") != 1):
        raise ConfigError(f"--arch {arch!r}: use one of {', '.join(SOURCES.values())}")
    return source, name


def is_external(arch: str) -> bool:
    """True when ``arch`` names a network from outside the project (``<source>:<name>``)."""
    return str(arch).partition(":")[0] in SOURCES and ":" in str(arch)


def _timm():
    try:
        import timm
    except ImportError as err:
        raise ConfigError(
            "timm: architectures need the optional package timm, which is not installed (pip install 'neuroequi[timm]')"
        ) from err
    return timm


def build(arch: str) -> nn.Module:
    """A randomly initialised network of ``arch`` (see the module docstring), in eval mode.

    Raises:
        ConfigError: an unknown name, timm missing, a module or callable that cannot be found, or a
            callable that does not return an ``nn.Module``.
    """
    source, name = parse_arch(arch)
    if source == "torchvision":
        import torchvision

        if name not in torchvision.models.list_models():
            raise ConfigError(
                f"--arch {arch!r}: torchvision has no model {name!r}; "
                f"e.g. {torchvision.models.list_models()[:12]} (torchvision.models.list_models())"
            )
        module = torchvision.models.get_model(name, weights=None)
    elif source == "timm":
        timm = _timm()
        if not timm.is_model(name):
            raise ConfigError(f"--arch {arch!r}: timm has no model {name!r} (timm.list_models('{name}*'))")
        module = timm.create_model(name, pretrained=False)
    else:
        module_name, attribute = name.split(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except ImportError as err:
            raise ConfigError(f"--arch {arch!r}: cannot import {module_name!r} ({err}); is it on PYTHONPATH?") from err
        except AttributeError as err:
            raise ConfigError(f"--arch {arch!r}: module {module_name!r} has no {attribute!r}") from err
        module = factory()
        if not isinstance(module, nn.Module):
            raise ConfigError(f"--arch {arch!r}: {attribute}() returned {type(module).__name__}, not a torch.nn.Module")
    return module.eval()


def own_preprocessing(arch: str, module: nn.Module) -> Preprocessing:
    """The preprocessing ``arch`` defines (see the module docstring); 224 px and ImageNet statistics
    where it defines none."""
    source, name = parse_arch(arch)
    if source == "torchvision":
        import torchvision

        try:
            transforms = torchvision.models.get_model_weights(name).DEFAULT.transforms()
            return Preprocessing(
                int(transforms.crop_size[0]),
                tuple(transforms.mean),
                tuple(transforms.std),
                f"torchvision {name} default weights' transforms",
            )
        except (ValueError, AttributeError, KeyError):  # a model without published weights
            pass
    if source == "timm":
        config = _timm().data.resolve_data_config({}, model=module)
        return Preprocessing(
            int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"]), f"timm {name} data config"
        )
    return Preprocessing(224, IMAGENET_MEAN, IMAGENET_STD, "default: 224 px, ImageNet mean and std")


def preprocessing(
    arch: str | None,
    module: nn.Module,
    image_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Preprocessing:
    """``arch``'s own preprocessing (:func:`own_preprocessing`; ``arch`` None: the defaults) with any
    of ``image_size``, ``mean``, ``std`` given replacing it; ConfigError for values out of range."""
    own = (
        own_preprocessing(arch, module)
        if arch
        else Preprocessing(224, IMAGENET_MEAN, IMAGENET_STD, "default: 224 px, ImageNet mean and std")
    )
    chosen = {"image_size": image_size, "mean": mean, "std": std}
    given = [key for key, value in chosen.items() if value is not None]
    result = Preprocessing(
        int(own.image_size if image_size is None else image_size),
        tuple(float(v) for v in (own.mean if mean is None else mean)),
        tuple(float(v) for v in (own.std if std is None else std)),
        own.source if not given else f"{own.source}; set: {', '.join(given)}",
    )
    if result.image_size < 8:
        raise ConfigError(f"image_size must be at least 8 px, got {result.image_size}")
    if len(result.mean) != 3 or len(result.std) != 3 or min(result.std) <= 0:
        raise ConfigError(
            f"mean and std need 3 values each (RGB), std > 0; got mean={list(result.mean)}, std={list(result.std)}"
        )
    return result


def default_layers(module: nn.Module) -> tuple[str, ...]:
    """The stages of ``module`` (see the module docstring), input to output."""
    own = getattr(module, "layer_names", None)
    if own:
        return tuple(own)
    children = dict(module.named_children())
    feature_info = getattr(module, "feature_info", None)
    if isinstance(feature_info, list) and all(isinstance(f, dict) and "module" in f for f in feature_info):  # timm
        stages = [f["module"] for f in feature_info]
        return tuple(stages + [name for name in ("global_pool",) if name in children])
    if all(f"layer{i}" in children for i in range(1, 5)):
        return tuple(f"layer{i}" for i in range(1, 5)) + tuple(n for n in ("avgpool",) if n in children)
    layers = tuple(
        name for name, child in children.items() if name not in CLASSIFIER_NAMES and not isinstance(child, _SKIPPED)
    )
    if not layers:
        raise ConfigError(f"{type(module).__name__} has no child modules to record; name its layers (layers=[...])")
    return layers


def default_region_layer_map(layers: Sequence[str]) -> dict[str, str]:
    """V1, V2, V4, IT spread evenly over ``layers`` (the final pooling left out when there is more than
    one stage): with four stages, one each."""
    stages = [l for l in layers if "pool" not in l.rsplit(".", 1)[-1]] or list(layers)
    last = len(stages) - 1
    return {region: stages[round(k * last / (len(REGIONS) - 1))] for k, region in enumerate(REGIONS)}


def check_layers(module: nn.Module, layers: Sequence[str], where: str) -> tuple[str, ...]:
    """``layers`` when each names a module of ``module``; ConfigError listing the modules otherwise."""
    modules = [name for name, _ in module.named_modules() if name]
    missing = [layer for layer in layers if layer not in modules]
    if not layers or missing:
        raise ConfigError(
            f"{where}: layers {missing or list(layers)} are not modules of the network; "
            f"modules: {modules[:40]}{' ...' if len(modules) > 40 else ''}"
        )
    return tuple(layers)


def load_weights(module: nn.Module, state: Mapping[str, Tensor], where: str) -> nn.Module:
    """``module.load_state_dict(state, strict=True)``; CheckpointError naming ``where`` and the first
    missing, unexpected and mismatched keys when the state dict does not fit."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"{label} {len(keys)} e.g. {keys[:4]}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatches", wrong))
            if keys
        ]
        raise CheckpointError(f"{where}: the state dict does not fit the architecture ({'; '.join(parts)})")
    module.load_state_dict(state, strict=True)
    return module.eval()
