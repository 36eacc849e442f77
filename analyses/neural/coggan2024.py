"""Brain-Score's own ``tong.Coggan2024_fMRI.{V1,V2,V4,IT}-rdm`` benchmarks, offline.

Brain-Score loads these benchmarks' data with ``load_dataset('Coggan2024_fMRI')``
(and its stimulus set with ``load_stimulus_set``) from its S3 bucket. Here the
same assembly and stimulus set are built from the files Brain-Score packaged
them from (``coggan2024_fmri/`` in the data directory, sha256-verified by
:func:`neuroequi.data.coggan2024`), step by step as Brain-Score's
``brainscore_vision/data/coggan2024_fMRI/data_packaging.py`` does (brain-score/vision
@ c019c8039afbfa83f46c4a8d942c48662b432f96), and merged with the stimulus
metadata by brainio's own ``StimulusMergeAssemblyLoader``, as
``load_assembly_from_s3`` does after download. :func:`local_data` puts these two
builders into Brain-Score's data registries for the time the benchmark is
constructed, so :func:`coggan_benchmark` returns the object of Brain-Score's
own benchmark class (``Coggan2024_fMRI_Benchmark``) with its own RSA, score,
ceiling and ceiler.

Brain-Score's ceiled score is ``(r / ceiling)^2`` (clipped to [0, 1]), which
drops the sign of ``r``; the raw ``r`` (mean over subjects) is the score's
``attrs['raw']`` and the per-subject ``r`` are ``attrs['raw'].attrs['raw']``. Its ``error`` is a
bootstrap over the 24 stimuli (:mod:`analyses.neural.coggan_bootstrap`).
"""

from __future__ import annotations

import contextlib
from itertools import product

import numpy as np

from analyses.neural.data import make_stimulus_set
from neuroequi.errors import ConfigError

#: Name of the data plugin (``load_dataset`` / ``load_stimulus_set`` identifier) in brainscore_vision.
DATA_IDENTIFIER = "Coggan2024_fMRI"
#: Identifier Brain-Score's loaders give the assembly and the stimulus set.
STIMULUS_SET_IDENTIFIER = "tong.Coggan2024_fMRI"
#: Brain-Score's four benchmarks on these data, one per region.
COGGAN_BENCHMARKS = {f"tong.Coggan2024_fMRI.{region}-rdm": region for region in ("V1", "V2", "V4", "IT")}

#: The ImageNet class of each object (the ``imagenet_metadata`` of Brain-Score's packaging):
#: 1K class index, WordNet id, description, the ImageNet validation image the stimulus was made from.
IMAGENET_CLASSES = {
    "bear": (294, "n02132136", "brown bear, bruin, Ursus arctos", "val/n02132136/ILSVRC2012_val_00049345.jpg"),
    "bison": (347, "n02410509", "bison", "val/n02410509/ILSVRC2012_val_00048511.jpg"),
    "elephant": (386, "n02504458", "African elephant, Loxodonta africana", "val/n02504458/ILSVRC2012_val_00030840.jpg"),
    "hare": (331, "n02326432", "hare", "val/n02326432/ILSVRC2012_val_00004064.jpg"),
    "jeep": (609, "n03594945", "jeep, landrover", "val/n03594945/ILSVRC2012_val_00036304.jpg"),
    "lamp": (846, "n04380533", "table lamp", "val/n04380533/ILSVRC2012_val_00001055.jpg"),
    "sportsCar": (817, "n04285008", "sports car, sport car", "val/n04285008/ILSVRC2012_val_00001247.jpg"),
    "teapot": (849, "n04398044", "teapot", "val/n04398044/ILSVRC2012_val_00033663.jpg"),
}

CEILING_FORMULA = (
    "brainscore Coggan2024 ceiler: score = (r / ceiling)^2 clipped to [0, 1], which drops the sign of r; "
    "r (= raw) = mean over the 9 subjects of the Pearson r between the off-diagonal entries of the model RSM "
    "(Brain-Score's RSA of the region's layer) and of the subject's RSM; ceiling = mean over subjects of the "
    "r between a subject's RSM and the mean RSM of the others"
)


def coggan_stimulus_set():
    """The 24 stimuli as a brainio ``StimulusSet``, rows in sorted file order (Brain-Score's packaging).

    Columns: ``stimulus_id`` (file stem), ``object_name``, ``occlusion_condition``
    (complete/upper/lower), ``imagenet_class_index_1K``, ``imagenet_class_name``,
    ``imagenet_class_description``, ``imagenet_path``, and ``filename``
    (``<stimulus_id>.png``, the name packaging gives each file in the zip).
    """
    from PIL import Image

    from neuroequi.data import coggan2024

    data = coggan2024()
    objects, conditions = zip(*(s.split("_") for s in data.stimulus_ids))
    index, name, description, path = zip(*(IMAGENET_CLASSES[o] for o in objects))
    images = []
    for file in data.stimulus_paths:
        with Image.open(file) as image:
            images.append(image.copy())
    return make_stimulus_set(
        STIMULUS_SET_IDENTIFIER,
        images,
        data.stimulus_ids,
        content_key=False,
        object_name=list(objects),
        occlusion_condition=list(conditions),
        imagenet_class_index_1K=list(index),
        imagenet_class_name=list(name),
        imagenet_class_description=list(description),
        imagenet_path=list(path),
    )


def coggan_proto_assembly(stimulus_set):
    """The assembly as Brain-Score's packaging builds it before writing it to netCDF.

    ``NeuroidAssembly`` of dims ``(presentation, presentation, neuroid)``, shape
    ``(24, 24, 36)``: every subject's RSM, neuroids ordered region-major
    (V1 sub-0 .. sub-8, V2 .., V4 .., IT ..), with the presentation coordinates
    ``stimulus_id``, ``object_name``, ``occlusion_condition`` of ``stimulus_set``
    and the neuroid coordinates ``subject`` and ``region``; attribute
    ``stimulus_set_identifier`` as ``package_data_assembly`` sets it.
    """
    from brainscore_core.supported_data_standards.brainio.assemblies import (
        NeuroidAssembly,
    )

    from neuroequi.data import COGGAN2024_REGIONS, coggan2024

    data = coggan2024()
    if list(stimulus_set["stimulus_id"]) != data.stimulus_ids:
        raise ConfigError("stimulus_set: its rows must follow the RSMs' (sorted file) order")
    pairs = list(product(COGGAN2024_REGIONS, data.rsms[COGGAN2024_REGIONS[0]]))
    assembly = NeuroidAssembly(
        np.stack([data.rsms[region][subject] for region, subject in pairs], axis=2),
        dims=["presentation", "presentation", "neuroid"],
        coords={
            "stimulus_id": ("presentation", stimulus_set["stimulus_id"].values),
            "object_name": ("presentation", stimulus_set["object_name"].values),
            "occlusion_condition": ("presentation", stimulus_set["occlusion_condition"].values),
            "subject": ("neuroid", [subject for _, subject in pairs]),
            "region": ("neuroid", [region for region, _ in pairs]),
        },
    )
    assembly.attrs["stimulus_set_identifier"] = STIMULUS_SET_IDENTIFIER
    return assembly


def coggan_assembly():
    """What ``brainscore_vision.load_dataset('Coggan2024_fMRI')`` returns, built from the data directory.

    The packaged assembly (:func:`coggan_proto_assembly`) with the stimulus set's
    metadata merged into the presentation coordinates by brainio's
    ``StimulusMergeAssemblyLoader``, the stimulus set attached
    (``assembly.stimulus_set``) and ``attrs['identifier']`` set, as
    ``load_assembly_from_s3`` does.
    """
    from brainscore_core.supported_data_standards.brainio.assemblies import (
        NeuroidAssembly,
        StimulusMergeAssemblyLoader,
    )

    stimulus_set = coggan_stimulus_set()
    loader = StimulusMergeAssemblyLoader(
        cls=NeuroidAssembly, file_path=None, stimulus_set_identifier=STIMULUS_SET_IDENTIFIER, stimulus_set=stimulus_set
    )
    assembly = loader.merge_stimulus_set_meta(NeuroidAssembly(coggan_proto_assembly(stimulus_set)), stimulus_set)
    assembly.attrs["stimulus_set_identifier"] = STIMULUS_SET_IDENTIFIER
    assembly.attrs["stimulus_set"] = stimulus_set
    assembly.attrs["identifier"] = STIMULUS_SET_IDENTIFIER
    return assembly


@contextlib.contextmanager
def local_data():
    """Within this block, Brain-Score's ``load_dataset`` / ``load_stimulus_set('Coggan2024_fMRI')``
    return :func:`coggan_assembly` / :func:`coggan_stimulus_set` (the registries are restored after)."""
    from brainscore_core.plugin_management.import_plugin import import_plugin
    from brainscore_vision import data_registry, stimulus_set_registry

    import_plugin("brainscore_vision", "data", DATA_IDENTIFIER)  # registers Brain-Score's S3 loaders (once)
    saved = data_registry[DATA_IDENTIFIER], stimulus_set_registry[DATA_IDENTIFIER]
    data_registry[DATA_IDENTIFIER], stimulus_set_registry[DATA_IDENTIFIER] = coggan_assembly, coggan_stimulus_set
    try:
        yield
    finally:
        data_registry[DATA_IDENTIFIER], stimulus_set_registry[DATA_IDENTIFIER] = saved


def coggan_benchmark(identifier: str):
    """Brain-Score's benchmark ``identifier`` (one of :data:`COGGAN_BENCHMARKS`) on the local data.

    Raises:
        ConfigError: not a Coggan2024 benchmark.
        DataUnavailableError: a data file is missing (offline) or corrupt.
    """
    import brainscore_vision

    if identifier not in COGGAN_BENCHMARKS:
        raise ConfigError(f"unknown Coggan2024 benchmark {identifier!r}; known: {list(COGGAN_BENCHMARKS)}")
    from analyses.neural.coggan_bootstrap import Coggan2024WithStimulusError

    with local_data():
        benchmark = brainscore_vision.load_benchmark(identifier)
    benchmark.__class__ = Coggan2024WithStimulusError  # Brain-Score's object, plus the stimulus-bootstrap error
    benchmark.ceiling_formula = CEILING_FORMULA
    return benchmark
