"""Loaders for the real datasets; each returns ordinary Python/NumPy/torchvision objects.

* :func:`cifar10` — CIFAR-10 as a torchvision ``ImageFolder`` over the JPEG tree
  in the data directory (offline stand-in), or torchvision's ``CIFAR10`` built
  from the canonical archive when the tree is absent and a network is allowed.
  Both yield ``(PIL.Image 32x32 RGB, label)`` with the same ten class names.
* :func:`cowley2023_session` — one session of the Cowley et al. (2023) macaque
  V4 release: images in file order and responses ``(neurons, images)``.
* :func:`kriegeskorte92` — the 92-image set with monkey-IT / human-IT RDMs.
* :func:`pretrained_cifar_resnet` — path of a supervised CIFAR ResNet checkpoint.
* :func:`coggan2024` — the human-fMRI RSMs (V1, V2, V4, IT; 9 subjects) of
  Coggan & Tong (2024) for 24 occluded-object images, as Brain-Score packages them.
"""

from __future__ import annotations

import io
import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import torchvision
from PIL import Image
from scipy.spatial.distance import squareform

from neuroequi.data.registry import DataUnavailableError, data_dir, fetch, offline, registered_files
from neuroequi.errors import ConfigError, IntegrityError, OfflineError

log = logging.getLogger(__name__)

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# Every session id of the Cowley et al. (2023) release (its readme.txt, "Data table").
COWLEY2023_RELEASE = (
    "190923 190924 190925 190926 190927 190928 190929 201016 201017 201018 201019 201020 "
    "201021 201022 201023 201024 201025 210224 210225 210226 210301 210302 210303 210304 "
    "210305 210308 210309 210310 210312 210315 210316 210322 210323 210324 210325 210326 "
    "210620 210621 211008 211012 211013 211014 211015 211018 211022 211025 211026 211027 "
    "211028 211103"
).split()
COWLEY2023_TEST_SESSIONS = ("190923", "201025", "210225", "210325", "211022")


def read_rgb(path: str | Path) -> Image.Image:
    """The image file ``path`` decoded as RGB; IntegrityError naming the file when it cannot be
    decoded (truncated or corrupt; PIL's own message does not name it)."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError) as err:
        raise IntegrityError(
            f"image {str(path)!r} cannot be decoded ({err}): the file is truncated or corrupt; "
            "replace it with the original from the dataset's source"
        ) from err


def image_folder(root: str | Path, what: str = "image folder") -> torchvision.datasets.ImageFolder:
    """An ImageFolder tree (``<root>/<class>/<image files>``) decoded with :func:`read_rgb`;
    ConfigError naming ``what`` and ``root`` when it is not a folder or holds no class folder with images."""
    if not Path(root).is_dir():
        raise ConfigError(f"{what} {str(root)!r} is not a folder (expected <root>/<class>/<image files>)")
    try:
        return torchvision.datasets.ImageFolder(str(root), loader=read_rgb)
    except FileNotFoundError as err:  # no class folder, or no image file in any of them
        raise ConfigError(f"{what} {str(root)!r}: {err} (expected <root>/<class>/<image files>)") from err


def cifar10(split: str = "train", transform=None) -> torchvision.datasets.VisionDataset:
    """CIFAR-10 ``split`` ('train': 50,000 images, 'test': 10,000) as a torchvision dataset.

    Items are ``(PIL.Image (32x32 RGB) or transform(image), label in 0..9)``;
    ``dataset.classes`` lists the class names in label order. The JPEG tree is decoded with
    :func:`read_rgb` (``dataset.loader``), so a damaged file is named.
    """
    if split not in ("train", "test"):
        raise ConfigError(f"CIFAR-10 split must be 'train' or 'test', got {split!r}")
    tree = data_dir() / "cifar10" / split
    if tree.is_dir():
        found = sorted(p.name for p in tree.iterdir() if p.is_dir())
        if tuple(found) != CIFAR10_CLASSES:
            raise DataUnavailableError(
                f"dataset 'cifar10': {tree} should hold the ten class folders {list(CIFAR10_CLASSES)}, found {found}"
            )
        return torchvision.datasets.ImageFolder(str(tree), transform=transform, loader=read_rgb)
    if offline():
        raise OfflineError(
            f"dataset 'cifar10': no JPEG tree at {tree} and downloads are off "
            "(NEUROEQUI_OFFLINE). Point NEUROEQUI_DATA at a directory with cifar10/{train,test}/"
            "<class>/*.jpg, or unset NEUROEQUI_OFFLINE to download the canonical archive."
        )
    # torchvision checks the archive's md5 itself.
    return torchvision.datasets.CIFAR10(
        str(data_dir() / "cifar10_torchvision"),
        train=split == "train",
        transform=transform,
        download=True,
    )


@dataclass
class CowleySession:
    """One recording session of the Cowley et al. (2023) V4 release.

    Attributes:
        session: session id, e.g. ``'190923'``.
        images: ``n_images`` PIL RGB images (112x112), in file order.
        image_names: their file names (``imageNNNN.jpg``, 1-based).
        responses: repeat-averaged spike counts, ``(neurons, images)``.
        responses_raw: per-repeat counts ``(neurons, images, repeats)``, NaN-padded
            where an image had fewer repeats; None where the release has none.
    """

    session: str
    images: list[Image.Image]
    image_names: list[str]
    responses: np.ndarray
    responses_raw: np.ndarray | None


def _cowley_file(relpath: str) -> Path:
    """A Cowley file: verified when registered, else taken as found (with a warning)."""
    if relpath in registered_files():
        return fetch(relpath)
    path = data_dir() / relpath
    if not path.is_file():
        raise DataUnavailableError(
            f"dataset 'cowley2023_v4': {path} is missing and its checksum is not in the "
            "registry, so it cannot be downloaded verified; copy it from "
            "github.com/cowleygroup/V4_compact_models (data_V4_responses/) to that path."
        )
    log.warning("cowley2023_v4: %s has no registered sha256; using it unverified", path)
    return path


def cowley2023_sessions() -> list[str]:
    """Ids of the release's sessions whose images and responses are in the data directory."""
    root = data_dir() / "cowley2023_v4"
    return [
        s
        for s in COWLEY2023_RELEASE
        if (root / "images" / f"images_{s}.zip").is_file()
        and (root / "responses_repeat_averaged" / f"responses_{s}.npy").is_file()
    ]


def _read_zip_images(path: Path) -> tuple[list[str], list[Image.Image]]:
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith(".jpg"))
        images = [Image.open(io.BytesIO(zf.read(n))).convert("RGB") for n in names]
    return [Path(n).name for n in names], images


def cowley2023_session(session: str) -> CowleySession:
    """Load one session of the release (any id listed in its readme that is present).

    Raises:
        ConfigError: ``session`` is not a session of the release.
        DataUnavailableError: its files are missing or corrupt.
    """
    session = str(session)
    if session not in COWLEY2023_RELEASE:
        raise ConfigError(
            f"unknown Cowley 2023 session {session!r}; the release has {len(COWLEY2023_RELEASE)} "
            f"sessions (e.g. test sessions {COWLEY2023_TEST_SESSIONS})"
        )
    base = "cowley2023_v4"
    names, images = _read_zip_images(_cowley_file(f"{base}/images/images_{session}.zip"))
    responses = np.load(_cowley_file(f"{base}/responses_repeat_averaged/responses_{session}.npy"))
    raw_rel = f"{base}/responses_raw/responses_{session}.npy"
    has_raw = raw_rel in registered_files() or (data_dir() / raw_rel).is_file()
    raw = np.load(_cowley_file(raw_rel)) if has_raw else None
    if responses.ndim != 2 or responses.shape[1] != len(images):
        raise DataUnavailableError(
            f"dataset 'cowley2023_v4' session {session}: responses {responses.shape} do not match {len(images)} images"
        )
    return CowleySession(session, images, names, responses, raw)


@dataclass
class Kriegeskorte92:
    """The 92-image set of Kriegeskorte et al. (2008).

    Attributes:
        images: 92 PIL RGB images (175x175).
        category_vectors: ``(92, 12)`` binary category membership.
        category_labels: the 12 category names, column order of ``category_vectors``.
        rdm_monkey_it: ``(92, 92)`` monkey-IT dissimilarities (Kiani et al. 2007, 674 neurons).
        rdm_human_it: ``(92, 92)`` human-IT fMRI dissimilarities (316 voxels).
    """

    images: list[Image.Image]
    category_vectors: np.ndarray
    category_labels: list[str]
    rdm_monkey_it: np.ndarray
    rdm_human_it: np.ndarray


def kriegeskorte92() -> Kriegeskorte92:
    """Load the 92 images, categories and the monkey/human IT RDMs."""
    path = fetch("kriegeskorte2008_92/Kriegeskorte_Neuron2008_supplementalData.mat")
    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    rdms = {r.name: squareform(np.asarray(r.RDM, dtype=np.float64)) for r in mat["RDMs_mIT_hIT_fig1"]}
    return Kriegeskorte92(
        images=[Image.fromarray(np.asarray(s.image, dtype=np.uint8)) for s in mat["stimuli_92objs"]],
        category_vectors=np.asarray(mat["categoryVectors"]),
        category_labels=[str(x) for x in mat["categoryLabels"]],
        rdm_monkey_it=rdms["mIT_674neurons"],
        rdm_human_it=rdms["hITvisStim_316vx"],
    )


def kriegeskorte92_subject_rdms() -> tuple[np.ndarray, list[str]]:
    """The per-subject human-IT RDMs of the 92 images (``92_brainRDMs.mat``, rsatoolbox's demo data).

    Returns ``(rdms, subjects)``: ``rdms`` of shape ``(4, 2, 92, 92)`` (subject, scanning session,
    image, image; the image order of :func:`kriegeskorte92`) and the subject initials. Their mean over
    the 8 subject-sessions is :attr:`Kriegeskorte92.rdm_human_it`.
    """
    mat = scipy.io.loadmat(fetch("kriegeskorte2008_92/92_brainRDMs.mat"))["RDMs"][0]  # (subjects, sessions)
    rdms = np.array([[np.asarray(entry["RDM"], dtype=np.float64) for entry in row] for row in mat])
    subjects = [str(row[0]["name"].item()).split("|")[1].strip() for row in mat]
    return rdms, subjects


def pretrained_cifar_resnet(depth: int = 20) -> Path:
    """Verified path of the supervised CIFAR-10 ResNet-``depth`` checkpoint (20 or 32)."""
    matches = [p for p in registered_files() if p.startswith(f"pretrained_cifar_resnet/resnet{depth}-")]
    if not matches:
        raise ConfigError(f"no pretrained CIFAR ResNet of depth {depth!r}; available: 20, 32")
    return fetch(matches[0])


#: Regions of the Coggan & Tong (2024) release, in the order Brain-Score's packaging stacks them.
COGGAN2024_REGIONS = ("V1", "V2", "V4", "IT")


@dataclass
class Coggan2024:
    """Human fMRI RSMs of Coggan & Tong (2024) and their 24 stimuli.

    Attributes:
        rsms: ``region -> subject -> (24, 24)`` RSM (float64), rows and columns in
            ``stimulus_ids`` order; regions :data:`COGGAN2024_REGIONS`, subjects
            ``sub-0`` .. ``sub-8`` (the release's order).
        stimulus_ids: the 24 file stems (``<object>_<complete|upper|lower>``), sorted file order.
        stimulus_paths: verified paths of the 24 PNGs (224x224 grayscale), same order.
        packaged: Brain-Score's published metadata of its packaging of these files:
            ``{'assembly': {...}, 'stimulus_set': {...}}`` (identifiers, sha1s, S3 versions).
    """

    rsms: dict[str, dict[str, np.ndarray]]
    stimulus_ids: list[str]
    stimulus_paths: list[Path]
    packaged: dict[str, dict]


def _unpickle(relpath: str):
    """Unpickle a registered file; safe because :func:`fetch` has verified its sha256 first."""
    with open(fetch(relpath), "rb") as fh:
        return pickle.load(fh)


def coggan2024() -> Coggan2024:
    """Load the Coggan & Tong (2024) RSMs, stimuli and Brain-Score's packaging metadata.

    Raises:
        DataUnavailableError: a file is missing (offline) or corrupt, or the RSMs are
            not ``region -> subject -> (24, 24)`` for the 24 stimuli.
    """
    base = "coggan2024_fmri"
    stimuli = sorted(p for p in registered_files() if p.startswith(f"{base}/stimuli/"))
    paths = [fetch(p) for p in stimuli]
    rsms = _unpickle(f"{base}/dataset.pkl")
    shapes = {r: {s: np.shape(m) for s, m in subjects.items()} for r, subjects in rsms.items()}
    if tuple(rsms) != COGGAN2024_REGIONS or any(
        shape != (len(paths), len(paths)) for subjects in shapes.values() for shape in subjects.values()
    ):
        raise DataUnavailableError(
            f"dataset 'coggan2024_fmri': {base}/dataset.pkl should map regions {COGGAN2024_REGIONS} to "
            f"subjects' ({len(paths)}, {len(paths)}) RSMs; found {shapes}"
        )
    return Coggan2024(
        rsms={r: {s: np.asarray(m, dtype=np.float64) for s, m in subjects.items()} for r, subjects in rsms.items()},
        stimulus_ids=[Path(p).stem for p in stimuli],
        stimulus_paths=paths,
        packaged={
            "assembly": _unpickle(f"{base}/packaged_neural_metadata.pkl"),
            "stimulus_set": _unpickle(f"{base}/packaged_stimulus_metadata.pkl"),
        },
    )
