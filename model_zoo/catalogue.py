"""The model catalogue: name -> backbone, checkpoint source, method, lambda, dataset, layers, citation.

Three kinds of entry:

* the supervised CIFAR-10 ResNet-20/32 of akamaster (checkpoints in the data
  directory, fetched and sha256-verified by :mod:`neuroequi.data`), and the same
  architectures with seeded random weights (the untrained control);
* the 21 published CE-SSL / TeSSL ResNet-50 checkpoints of Yerxa et al.
  (Barlow Twins, MMCR, SimCLR x lambda in {0, 0.001, 0.1, 0.2, 0.3, 0.4, 0.5}),
  by URL; their sha256 is not published, so it is pinned on first download
  (trust on first use, see :mod:`model_zoo.download`);
* the project's own checkpoints, registered by path with
  :func:`register_checkpoint` (``neuroequi zoo add PATH``) into the user
  catalogue ``<zoo home>/catalogue.json``, each with the sha256 of its file
  (checked at every load, :mod:`model_zoo.loading`). The catalogue is read,
  changed and rewritten under :func:`neuroequi.locks.file_lock`, so registrations
  by processes running side by side are all kept; a name that exists is
  replaced only when asked (``replace=True``, ``--replace``).

Names are stable; the *identifier* a loaded model carries (Brain-Score caches
activations by it) appends the first 8 hex digits of the weights' sha256, see
:mod:`model_zoo.loading`. λ is spelled by :func:`neuroequi.io.format_lambda`
in every name.

Every function that reads or writes the user catalogue takes ``home``, the zoo
home (None: :func:`model_zoo.download.zoo_home`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from torch import Tensor, nn

from model_zoo.download import file_sha256, zoo_home
from neuroequi.errors import CheckpointError, ConfigError
from neuroequi.io import format_lambda, read_json_mapping, write_json
from neuroequi.locks import file_lock
from neuroequi.methods.base import IMAGENET_MEAN, IMAGENET_STD

BIBTEX_CIFAR_RESNET = """@inproceedings{he2016deep,
  title={Deep Residual Learning for Image Recognition},
  author={He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  booktitle={Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages={770--778},
  year={2016}
}
@misc{idelbayev2018resnet,
  title={Proper {ResNet} Implementation for {CIFAR10/CIFAR100} in {PyTorch}},
  author={Idelbayev, Yerlan},
  howpublished={\\url{https://github.com/akamaster/pytorch_resnet_cifar10}},
  year={2018}
}"""

BIBTEX_TESSL = """@inproceedings{yerxa2024contrastive,
  title={Contrastive-Equivariant Self-Supervised Learning Improves Alignment with Primate Visual Area {IT}},
  author={Yerxa, Thomas and Feather, Jenelle and Simoncelli, Eero P. and Chung, SueYeon},
  booktitle={Advances in Neural Information Processing Systems (NeurIPS)},
  year={2024}
}"""

#: Published CE-SSL checkpoints: objective as in the URL -> the project's method name.
TESSL_OBJECTIVES = {"Barlow": "barlow_twins", "MMCR": "mmcr", "SimCLR": "simclr"}
#: lambda values of the published sweep; Brain-Score's plugins spell them 00, 0001, 01 .. 05.
TESSL_LAMBDAS = (0.0, 0.001, 0.1, 0.2, 0.3, 0.4, 0.5)
TESSL_URL = (
    "https://users.flatironinstitute.org/~tyerxa/equi_proj/training_checkpoints/final/"
    "resnet_50/{objective}/lmda_{lam}/ep100-ba62500-rank0"
)


@dataclass(frozen=True)
class WeightsSource:
    """Where the weights come from.

    ``kind``: ``'data'`` (a file of the data registry, ``location`` its relative
    path), ``'url'`` (``location`` a URL), ``'path'`` (a local file), ``'init'``
    (random initialisation, ``location`` the seed) or ``'memory'`` (a network that exists
    only in this process, :func:`model_zoo.from_module`; never in a catalogue file). ``sha256``: the published hash
    (None where unpublished: pinned on first download). ``url``: a public download
    address for local files, when one exists (needed to package a submission).
    """

    kind: str
    location: str
    sha256: str | None = None
    url: str | None = None

    def __post_init__(self):
        if self.kind not in ("data", "url", "path", "init", "memory"):
            raise ConfigError(f"source kind must be data/url/path/init/memory, got {self.kind!r}")


@dataclass(frozen=True)
class Entry:
    """One catalogue entry (see the module docstring).

    ``arch``: ``cifar_resnet20``/``cifar_resnet32`` (akamaster), ``resnet50_composer``
    (published CE-SSL), a :func:`neuroequi.registry.build_backbone` arch for
    the project's checkpoints, or ``torchvision:<name>``, ``timm:<name>``,
    ``module:<package.module>:<callable>`` for other networks (:mod:`model_zoo.architectures`). ``lam``: the TeSSL/EquiMod weight lambda (None when
    not applicable). ``image_size``, ``mean``, ``std``: the preprocessing (resize
    to ``image_size`` squared, scale to [0, 1], normalise).
    """

    name: str
    arch: str
    family: str
    method: str
    lam: float | None
    dataset: str
    source: WeightsSource
    layers: tuple[str, ...]
    region_layer_map: dict[str, str]
    image_size: int
    citation: str
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    width: float = 1.0
    notes: str = ""
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON-serialisable dict; :func:`entry_from_json` inverts it."""
        return asdict(self)


def entry_from_json(data: dict) -> Entry:
    """Inverse of :meth:`Entry.to_json`."""
    fields = dict(data)
    fields["source"] = WeightsSource(**fields["source"])
    for key in ("layers", "mean", "std"):
        fields[key] = tuple(fields[key])
    return Entry(**fields)


def read_catalogue(path: Path) -> dict[str, Entry]:
    """The entries of a catalogue file (``{}`` when there is none).

    Raises:
        ConfigError: the file is not JSON (e.g. truncated), not a mapping of names to
            entries, or an entry lacks or mistypes a field; the message names the file.
    """
    fix = "fix it, or move it away and register the checkpoints again (`neuroequi zoo add PATH`)"
    data = read_json_mapping(path, "zoo catalogue", fix)
    out = {}
    for name, fields in data.items():
        try:
            out[name] = entry_from_json(fields)
        except (TypeError, KeyError, ValueError) as err:
            raise ConfigError(f"zoo catalogue {str(path)!r}: entry {name!r} is malformed ({err}); {fix}") from err
    return out


def _cifar_entries() -> list[Entry]:
    from neuroequi.data import registered_files

    files = registered_files()
    entries = []
    for depth in (20, 32):
        relpath = next(p for p in files if p.startswith(f"pretrained_cifar_resnet/resnet{depth}-"))
        common = dict(
            arch=f"cifar_resnet{depth}",
            family="neuroequi_cifar_resnet",
            dataset="cifar10",
            layers=("layer1", "layer2", "layer3", "avgpool"),
            # Three stages: V1 -> stage 1, V2 -> stage 2, V4 and IT -> stage 3 (4,096 features at 32 px;
            # stage 2 has 8,192 and doubles the cost of each PLS fit: 8.8 s vs 4.3 s CPU per split).
            region_layer_map={"V1": "layer1", "V2": "layer2", "V4": "layer3", "IT": "layer3"},
            image_size=32,
            citation=BIBTEX_CIFAR_RESNET,
        )
        entries.append(
            Entry(
                name=f"cifar-resnet{depth}-supervised",
                method="supervised",
                lam=None,
                source=WeightsSource("data", relpath, files[relpath].sha256, files[relpath].url),
                notes="akamaster/pytorch_resnet_cifar10; 91.7%/92.6% CIFAR-10 test accuracy (depth 20/32)",
                **common,
            )
        )
        entries.append(
            Entry(
                name=f"cifar-resnet{depth}-random",
                method="random_init",
                lam=None,
                source=WeightsSource("init", "0"),
                notes="same architecture, He-initialised with torch.manual_seed(0): the untrained control",
                **common,
            )
        )
    return entries


def lambda_code(lam: float) -> str:
    """Brain-Score's spelling of lambda in the CE-SSL plugin names: 0.1 -> '01', 0.001 -> '0001'."""
    return "00" if lam == 0 else format_lambda(lam).replace(".", "")


def _tessl_entries() -> list[Entry]:
    entries = []
    for objective, method in TESSL_OBJECTIVES.items():
        for lam in TESSL_LAMBDAS:
            entries.append(
                Entry(
                    name=f"tessl-{method.replace('_', '')}-lambda{format_lambda(lam)}-resnet50",
                    arch="resnet50_composer",
                    family="neuroequi_tessl_resnet50",
                    method=f"tessl_{method}",
                    lam=lam,
                    dataset="imagenet1k",
                    source=WeightsSource("url", TESSL_URL.format(objective=objective, lam=lam)),
                    layers=("layer1", "layer2", "layer3", "layer4", "avgpool"),
                    # IT -> layer4 as in the published Brain-Score plugins; earlier regions to earlier stages.
                    region_layer_map={"V1": "layer2", "V2": "layer3", "V4": "layer3", "IT": "layer4"},
                    image_size=224,
                    citation=BIBTEX_TESSL,
                    notes=f"same weights as Brain-Score's CE-{objective}_lmda_{lambda_code(lam)}; "
                    "100 ImageNet epochs; sha256 pinned on first download",
                )
            )
    return entries


def builtin_entries() -> dict[str, Entry]:
    """The catalogue shipped with the code: akamaster CIFAR ResNets (+ random) and CE-SSL ResNet-50s."""
    return {e.name: e for e in _cifar_entries() + _tessl_entries()}


def _user_catalogue_path(home: Path | None) -> Path:
    return zoo_home(home) / "catalogue.json"


def user_entries(home: Path | None = None) -> dict[str, Entry]:
    """Entries registered with :func:`register_checkpoint` (the user catalogue file of ``home``,
    :func:`read_catalogue`)."""
    return read_catalogue(_user_catalogue_path(home))


def entries(home: Path | None = None) -> dict[str, Entry]:
    """Every entry, built-in first; a user entry may not shadow a built-in name."""
    return {**user_entries(home), **builtin_entries()}


def get_entry(name: str, home: Path | None = None) -> Entry:
    """The entry called ``name``; ConfigError listing the known names otherwise.

    A built-in name is found without reading the user catalogue (so it loads even when
    that file is damaged)."""
    builtin = builtin_entries()
    if name in builtin:
        return builtin[name]
    known = entries(home)
    if name not in known:
        raise ConfigError(f"unknown model {name!r}; known: {sorted(known)} (see `neuroequi zoo list`)")
    return known[name]


def registered_name(path: str | os.PathLike, home: Path | None = None) -> str | None:
    """The catalogue name of the checkpoint file ``path`` in the user catalogue (None if not registered).

    A file registered under several names gets the first in sorted order of those whose recorded
    sha256 is the file's now (a file retrained in place keeps the entries of its old weights).
    """
    target = Path(path).expanduser().resolve()
    found = {
        n: e for n, e in user_entries(home).items() if e.source.kind == "path" and e.source.location == str(target)
    }
    names = sorted(found)
    if len(names) > 1:
        digest = file_sha256(target)
        names.sort(key=lambda n: found[n].source.sha256 != digest)  # stable: sorted within each group
    return names[0] if names else None


# Stages of the project's backbones (neuroequi.backbones) mapped to regions.
_BACKBONE_REGION_MAP = {"V1": "layer1", "V2": "layer2", "V4": "layer3", "IT": "layer4"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def backbone_entry(name: str, backbone: nn.Module | None, source: WeightsSource, **fields) -> Entry:
    """Entry of one of the project's backbones (``neuroequi.backbones``): layers and region map read
    from the network (``layer_names``, ``region_layer_map`` or layer1..layer4 for V1, V2, V4, IT);
    ``fields`` set the other :class:`Entry` fields (``arch``, ``method``, ``image_size`` ...;
    ``layers`` and ``region_layer_map`` too, when ``backbone`` is None)."""
    if not _NAME_RE.match(name):
        raise ConfigError(f"model name {name!r} must match {_NAME_RE.pattern}")
    if name in builtin_entries():
        raise ConfigError(f"model name {name!r} is a built-in entry; choose another")
    if backbone is not None:
        layers = tuple(backbone.layer_names)
        fields = {
            "layers": layers,
            "region_layer_map": getattr(backbone, "region_layer_map", None)
            or {r: l for r, l in _BACKBONE_REGION_MAP.items() if l in layers},
            **fields,
        }
    defaults = {"family": "neuroequi_user", "dataset": "unknown", "lam": None, "citation": ""}
    return Entry(name=name, source=source, **{**defaults, **fields})


def random_entry(arch: str, seed: int = 0, width: float = 1.0, image_size: int = 32, name: str | None = None) -> Entry:
    """Entry of a randomly initialised project backbone (``torch.manual_seed(seed)``, then
    ``build_backbone(arch, width)``): the untrained control of an experiment. Not registered;
    pass it to :func:`model_zoo.load`. Default name ``<arch>-random<seed>``."""
    import torch

    from neuroequi.registry import build_backbone

    with torch.random.fork_rng():  # built only to read its layer names; the global RNG is left alone
        backbone = build_backbone(arch, width)
    return backbone_entry(
        name or f"{arch}-random{seed}",
        backbone,
        WeightsSource("init", str(seed)),
        arch=arch,
        method="random_init",
        image_size=image_size,
        width=float(width),
    )


def checkpoint_entry(
    path: str | os.PathLike, backbone: nn.Module, meta: dict, name: str | None = None, url: str | None = None
) -> Entry:
    """Entry of a project checkpoint (``neuroequi.checkpoint`` format) read as ``(backbone, meta)``.

    Default name ``<method>-lambda<lam>-<arch>-<dataset>-<sha8>`` (sha8: the file's sha256);
    the full sha256 is recorded in the entry's source and checked at every load.
    """
    path = Path(path).expanduser().resolve()
    digest = file_sha256(path)
    lam = meta.get("lambda")
    arch = str(meta["arch"])
    dataset = meta.get("dataset", "unknown")
    dataset = str(dataset.get("name", "unknown") if isinstance(dataset, dict) else dataset)
    method = "_".join(str(p) for p in (meta.get("equivariance"), meta.get("method", "unknown")) if p)
    norm = meta.get("input_normalization", {"mean": IMAGENET_MEAN, "std": IMAGENET_STD})
    if name is None:
        lam_part = "" if lam is None else f"-lambda{format_lambda(lam)}"
        name = f"{method}{lam_part}-{arch}-{dataset}-{digest[:8]}"
    return backbone_entry(
        name,
        backbone,
        WeightsSource("path", str(path), digest, url),
        arch=arch,
        method=method,
        lam=None if lam is None else float(lam),
        dataset=dataset,
        image_size=int(meta.get("image_size", 32 if arch.endswith("_cifar") else 224)),
        mean=tuple(norm["mean"]),
        std=tuple(norm["std"]),
        width=float(meta.get("width", 1.0)),
        notes=f"registered with sha256 {digest}",
        meta={k: meta[k] for k in ("epoch", "step", "git_commit") if k in meta},
    )


#: Keys of a training config that say where a run is written, not what it computes.
_PLACE_KEYS = ("name", "output_dir")


def tensors_sha256(state: Mapping[str, Tensor]) -> str:
    """sha256 over every (key, tensor bytes) of a state dict, in its key order."""
    digest = hashlib.sha256()
    for key, tensor in state.items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def content_hashes(backbone: Mapping[str, Tensor], meta: dict) -> dict[str, str]:
    """``{"weights_sha256", "config_sha256"}`` of a checkpoint's backbone state dict and metadata: the
    :func:`tensors_sha256` of the weights and the sha256 of the training config (``meta["config"]``) as
    key-sorted JSON without the keys that only place the run (:data:`_PLACE_KEYS`)."""
    config = {k: v for k, v in (meta.get("config") or {}).items() if k not in _PLACE_KEYS}
    text = json.dumps(config, sort_keys=True, default=str)
    return {"weights_sha256": tensors_sha256(backbone), "config_sha256": hashlib.sha256(text.encode()).hexdigest()}


def content_name(prefix: str, hashes: dict[str, str]) -> str:
    """``<prefix>-w<8 hex of the weights' sha256>-c<8 hex of the config's>`` (:func:`content_hashes`)."""
    return f"{prefix}-w{hashes['weights_sha256'][:8]}-c{hashes['config_sha256'][:8]}"


def run_name(path: str | os.PathLike, prefix: str) -> str:
    """The content name (:func:`content_name`) of the checkpoint file ``path`` under ``prefix``."""
    from neuroequi.checkpoint import load_backbone

    backbone, meta = load_backbone(path)
    return content_name(prefix, content_hashes(backbone.state_dict(), meta))


def register_run(path: str | os.PathLike, prefix: str, home: Path | None = None) -> Entry:
    """Register a pipeline's checkpoint under its content name (:func:`run_name`), so pipelines that
    share a zoo never read each other's models: the name changes with the weights or the config.

    The entry records both hashes (``meta``). An entry of that name is replaced only when it records
    the same hashes (the same weights and config, e.g. a rerun to another results folder); one that
    records other hashes is a ConfigError naming both, never a silent reuse."""
    from neuroequi.checkpoint import load_backbone

    path = Path(path).expanduser().resolve()
    backbone, meta = load_backbone(path)
    hashes = content_hashes(backbone.state_dict(), meta)
    name = content_name(prefix, hashes)
    entry = checkpoint_entry(path, backbone, meta, name=name)
    entry = replace(entry, meta={**entry.meta, **hashes})
    catalogue_path = _user_catalogue_path(home)
    with file_lock(catalogue_path):
        catalogue = read_catalogue(catalogue_path)
        old = catalogue.get(name)
        if old is not None and any(old.meta.get(k) != v for k, v in hashes.items()):
            raise ConfigError(
                f"model {name!r} in {str(catalogue_path)!r} records weights {old.meta.get('weights_sha256')} and config "
                f"{old.meta.get('config_sha256')}, but {str(path)!r} has weights {hashes['weights_sha256']} and config "
                f"{hashes['config_sha256']}; refusing to reuse a name for other weights"
            )
        if old != entry:
            catalogue[name] = entry
            write_json(catalogue_path, {n: e.to_json() for n, e in catalogue.items()})
    return entry


def register_checkpoint(
    path: str | os.PathLike,
    name: str | None = None,
    url: str | None = None,
    home: Path | None = None,
    replace: bool = False,
) -> Entry:
    """Add one of the project's checkpoints (``neuroequi.checkpoint`` format) to the user catalogue.

    Args:
        path: the checkpoint file (read with ``neuroequi.checkpoint.load_backbone``, which
            refuses non-finite weights).
        name: catalogue name; default ``<method>-lambda<lam>-<arch>-<dataset>-<sha8>``.
        url: optional public download address of the same file (needed to package
            a Brain-Score submission).
        home: the zoo home whose catalogue is written (None: :func:`zoo_home`).
        replace: replace an entry of the same name that describes another file or hash
            (registering the very same entry again is a no-op).

    Returns the new entry. The entry records the file's sha256; loading it checks the file
    against that hash, so a checkpoint changed after registration must be registered again
    (``replace=True``). The catalogue's read–modify–write runs under a file lock.

    Raises:
        CheckpointError: ``path`` is missing, a directory, or not a readable checkpoint.
        IntegrityError: the checkpoint's weights hold NaN or inf.
        ConfigError: ``name`` exists (and differs) without ``replace``; a built-in or invalid name.
    """
    from neuroequi.checkpoint import load_backbone

    path = _weights_path(path)
    return add_entry(checkpoint_entry(path, *load_backbone(path), name=name, url=url), home, replace)


def _weights_path(path: str | os.PathLike) -> Path:
    """``path`` resolved; CheckpointError when it is missing or a directory."""
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    return path


def external_entry(
    path: str | os.PathLike,
    arch: str,
    name: str | None = None,
    *,
    layers: tuple[str, ...] | list[str] | None = None,
    image_size: int | None = None,
    mean: tuple[float, ...] | list[float] | None = None,
    std: tuple[float, ...] | list[float] | None = None,
    region_layer_map: dict[str, str] | None = None,
    url: str | None = None,
) -> Entry:
    """Entry of a state dict file for another architecture (:mod:`model_zoo.architectures`): the
    network is built and the weights loaded once here, so a file that does not fit fails now.

    Default name ``<arch name>-<sha8>``; layers, region map and preprocessing default to the
    architecture's (:func:`~model_zoo.architectures.default_layers`, ...). The entry records the
    file's sha256 and where its preprocessing came from (``meta['preprocessing']``).
    """
    from model_zoo import architectures as archs
    from neuroequi.checkpoint import load_state_dict_file

    path = _weights_path(path)
    archs.parse_arch(arch)
    digest = file_sha256(path)
    module = archs.load_weights(archs.build(arch), load_state_dict_file(path), f"{str(path)!r} as {arch}")
    name = name or f"{arch.rsplit(':', 1)[-1]}-{digest[:8]}"
    chosen = archs.check_layers(module, tuple(layers) if layers else archs.default_layers(module), f"model {name!r}")
    regions = dict(region_layer_map or archs.default_region_layer_map(chosen))
    archs.check_layers(module, tuple(regions.values()), f"model {name!r} region_layer_map")
    prep = archs.preprocessing(arch, module, image_size, mean, std)
    return backbone_entry(
        name,
        None,
        WeightsSource("path", str(path), digest, url),
        layers=chosen,
        region_layer_map=regions,
        arch=arch,
        method="external",
        image_size=prep.image_size,
        mean=prep.mean,
        std=prep.std,
        notes=f"state dict registered with sha256 {digest}",
        meta={"preprocessing": prep.source},
    )


def register_weights(
    path: str | os.PathLike,
    arch: str,
    name: str | None = None,
    *,
    replace: bool = False,
    home: Path | None = None,
    **fields,
) -> Entry:
    """Register a state dict file for another architecture (:func:`external_entry`; ``fields``: its
    keyword arguments) in the user catalogue of ``home``; the new entry. ``neuroequi zoo add FILE --arch ARCH``.

    Raises:
        CheckpointError: a missing file, a pickled network instead of a state dict, or weights that do
            not fit ``arch``.
        ConfigError: an unknown ``arch`` (or timm missing), layers that are not modules of the network,
            bad preprocessing, or a name taken (without ``replace``), built-in or invalid.
    """
    return add_entry(external_entry(path, arch, name, **fields), home, replace)


def add_entry(entry: Entry, home: Path | None = None, replace: bool = False) -> Entry:
    """Write ``entry`` into the user catalogue of ``home`` (under its file lock); ConfigError when its
    name holds another entry and not ``replace``."""
    catalogue_path = _user_catalogue_path(home)
    with file_lock(catalogue_path):
        catalogue = read_catalogue(catalogue_path)
        old = catalogue.get(entry.name)
        if old is not None and old != entry and not replace:
            raise ConfigError(
                f"model {entry.name!r} is already in {str(catalogue_path)!r} (file {old.source.location}, "
                f"sha256 {old.source.sha256}); pass --replace (replace=True) to replace it, or choose another --name"
            )
        catalogue[entry.name] = entry
        write_json(catalogue_path, {n: e.to_json() for n, e in catalogue.items()}, sort_keys=True)
    return entry
