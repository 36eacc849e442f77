"""Real recordings as brainio objects: ``StimulusSet`` (images on disk) and ``NeuroidAssembly``.

Brain-Score models look at image *files*, so each stimulus set's images are
written once (PNG, lossless with respect to the decoded pixels) under
``<user cache>/neuroequi/.brainio/stimuli/<stimulus set identifier>/`` (:func:`stimuli_dir`),
the identifier carrying a hash of the pixels (:func:`make_stimulus_set`).

* Cowley et al. (2023) V4: one session = 1,200 (test sessions) or 640 (210325)
  natural images; spike counts in a 100 ms window. Assemblies are
  ``presentation x neuroid``; with per-repeat responses, one presentation per
  (image, repeat) that was actually shown (the NaN padding is dropped).
* Kriegeskorte et al. (2008) 92 images with the monkey-IT dissimilarity matrix
  of Kiani et al. (2007) (674 neurons; 1 - Pearson r between response patterns)
  or the human-IT fMRI one of Kriegeskorte et al. (2008) (316 voxels).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pooch
from PIL import Image

from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write

#: Spike-count window of the Cowley release (100 ms), as Brain-Score's Cowley2026 packaging states it.
COWLEY_TIME_BIN = (50, 150)


def stimuli_dir(identifier: str) -> Path:
    """Folder holding the image files of stimulus set ``identifier``.

    ``<os cache>/neuroequi/.brainio/stimuli/<identifier>``: Brain-Score's activation cache
    (``RESULTCACHING_HOME``) stores the stimulus paths it computed and, when it serves them again,
    compares them with the requested ones after cutting everything before a ``.brainio`` folder
    (``lstrip_local``). Under ``.brainio`` the comparison no longer depends on where the cache
    folder is (``XDG_CACHE_HOME``), so a second cache location reuses what the first computed
    instead of failing on the absolute paths; the identifier carries the images' content
    (:func:`make_stimulus_set`), so only the same images are ever reused.
    """
    return Path(pooch.os_cache("neuroequi")) / ".brainio" / "stimuli" / identifier


def content_digest(images: Sequence[Image.Image], stimulus_ids: Sequence[str]) -> str:
    """sha256 (hex) of the stimulus ids and the decoded pixels (mode, size, bytes) of ``images``, in order."""
    digest = hashlib.sha256()
    for stimulus_id, image in zip(stimulus_ids, images, strict=True):
        digest.update(f"{stimulus_id}\0{image.mode}\0{image.size}\0".encode())
        digest.update(image.tobytes())
    return digest.hexdigest()


def make_stimulus_set(
    identifier: str,
    images: Sequence[Image.Image],
    stimulus_ids: Sequence[str],
    content_key: bool = True,
    **columns: Sequence,
):
    """A brainio ``StimulusSet`` of ``images`` written to :func:`stimuli_dir` (once).

    With ``content_key`` its identifier is ``<identifier>-<first 12 hex digits of`` :func:`content_digest` ``>``,
    so every cache keyed on stimulus-set identifiers (Brain-Score's activation cache, its
    ``place_on_screen``, :mod:`analyses.neural.layers`) is keyed on the images themselves;
    without it (a set whose identifier is a published one), ``identifier`` as given.
    ``columns``: extra per-stimulus metadata columns, each of length ``len(images)``.
    """
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet

    if len(images) != len(stimulus_ids) or len(set(stimulus_ids)) != len(stimulus_ids):
        raise ValueError(
            f"{identifier}: need one unique stimulus id per image "
            f"({len(images)} images, {len(set(stimulus_ids))} unique ids)"
        )
    if content_key:
        identifier = f"{identifier}-{content_digest(images, stimulus_ids)[:12]}"
    folder = stimuli_dir(identifier)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stimulus_id, image in zip(stimulus_ids, images):
        path = folder / f"{stimulus_id}.png"
        if not path.is_file():
            with atomic_write(path, fsync=False) as tmp:
                image.save(tmp, format="PNG")
        paths[stimulus_id] = path
    stimulus_set = StimulusSet(
        {"stimulus_id": list(stimulus_ids), "filename": [p.name for p in paths.values()], **columns}
    )
    stimulus_set.stimulus_paths = paths
    stimulus_set.identifier = identifier
    return stimulus_set


def _assembly(values: np.ndarray, presentation: dict, neuroid: dict, stimulus_set, time_bin):
    """NeuroidAssembly ``(presentation, neuroid)`` with one (squeezed) time bin and the stimulus set attached."""
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly

    coords = {
        **{k: ("presentation", v) for k, v in presentation.items()},
        **{k: ("neuroid", v) for k, v in neuroid.items()},
        "time_bin_start": ("time_bin", [time_bin[0]]),
        "time_bin_end": ("time_bin", [time_bin[1]]),
    }
    assembly = NeuroidAssembly(values[:, :, None], coords=coords, dims=["presentation", "neuroid", "time_bin"])
    assembly = assembly.squeeze("time_bin")
    assembly.attrs["stimulus_set"] = stimulus_set
    assembly.attrs["stimulus_set_identifier"] = stimulus_set.identifier
    return assembly


def cowley_stimulus_set(session):
    """StimulusSet of a :class:`neuroequi.data.CowleySession` (ids ``cowley2023.<session>.imageNNNN``)."""
    ids = [f"cowley2023.{session.session}.{Path(n).stem}" for n in session.image_names]
    return make_stimulus_set(
        f"Cowley2023.{session.session}", session.images, ids, image_file_name=list(session.image_names)
    )


def cowley_assembly(session_id: str, repetitions: bool = False):
    """V4 responses of one Cowley 2023 session as a NeuroidAssembly.

    Args:
        session_id: any session present in the data directory (``neuroequi.data.cowley2023_sessions()``).
        repetitions: False: repeat-averaged ``(images, neurons)``. True: one
            presentation per shown (image, repeat), with a ``repetition`` coordinate
            (only sessions released with per-repeat responses; ConfigError otherwise).
    """
    from neuroequi.data import cowley2023_session

    session = cowley2023_session(session_id)
    stimulus_set = cowley_stimulus_set(session)
    n_neurons = session.responses.shape[0]
    neuroid = {
        "neuroid_id": [f"{session.session}.n{k:03d}" for k in range(n_neurons)],
        "region": ["V4"] * n_neurons,
        "session": [session.session] * n_neurons,
    }
    ids = np.asarray(stimulus_set["stimulus_id"].values)
    files = np.asarray(session.image_names)
    if not repetitions:
        return _assembly(
            session.responses.T.astype(np.float64),
            {"stimulus_id": ids, "image_file_name": files},
            neuroid,
            stimulus_set,
            COWLEY_TIME_BIN,
        )
    if session.responses_raw is None:
        raise ConfigError(f"Cowley session {session_id!r} has no per-repeat responses in the release")
    raw = session.responses_raw  # (neurons, images, repeats), NaN where an image was shown fewer times
    shown = ~np.isnan(raw).any(axis=0)  # (images, repeats)
    image_index, repeat_index = np.nonzero(shown)
    values = raw[:, image_index, repeat_index].T.astype(np.float64)
    presentation = {"stimulus_id": ids[image_index], "image_file_name": files[image_index], "repetition": repeat_index}
    return _assembly(values, presentation, neuroid, stimulus_set, COWLEY_TIME_BIN)


def kriegeskorte_stimulus_set(rdm: str = "monkey_it"):
    """StimulusSet of the 92 Kriegeskorte images (ids ``kriegeskorte92.NN``, with category labels) and
    one of their ``(92, 92)`` IT RDMs, ``rdm`` = ``'monkey_it'`` (Kiani et al. 2007) or ``'human_it'``."""
    from neuroequi.data import kriegeskorte92

    if rdm not in ("monkey_it", "human_it"):
        raise ConfigError(f"rdm must be 'monkey_it' or 'human_it', got {rdm!r}")
    data = kriegeskorte92()
    labels = [";".join(l for l, on in zip(data.category_labels, row) if on) for row in data.category_vectors]
    ids = [f"kriegeskorte92.{i:02d}" for i in range(len(data.images))]
    return make_stimulus_set("Kriegeskorte2008.92", data.images, ids, categories=labels), getattr(data, f"rdm_{rdm}")


def cifar10_pca_stimulus_set(n_images: int = 1000):
    """A fixed set of local natural images: the first ``n_images / 10`` CIFAR-10 *test* images of
    each class (dataset order), ids ``cifar10-test.NNNNN``; ``n_images`` a positive multiple of 10.

    Brain-Score fits its layer PCA on ImageNet validation images, which cannot be fetched
    offline; this set stands in for them (see :mod:`analyses.neural.layers`).
    """
    from neuroequi.data import cifar10

    if n_images <= 0 or n_images % 10:
        raise ConfigError(f"pca images: expected a positive multiple of 10 (one tenth per class), got {n_images!r}")
    dataset = cifar10("test")
    per_class = n_images // 10
    chosen = sorted(i for label in range(10) for i in np.flatnonzero(np.asarray(dataset.targets) == label)[:per_class])
    images = [dataset[i][0] for i in chosen]
    return make_stimulus_set(
        f"cifar10-test-first{n_images}",
        images,
        [f"cifar10-test.{i:05d}" for i in chosen],
        image_label=[dataset.classes[dataset.targets[i]] for i in chosen],
    )
