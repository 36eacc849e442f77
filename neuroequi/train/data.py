"""Training data: image sources, batch plans (a distributed sampler), and views per method.

A loader yields :class:`~neuroequi.methods.Batch` objects built by :class:`BatchSource` from
``(seed, indices)`` items of a :class:`BatchPlan`. Every batch's augmentations are drawn
from a generator seeded by ``(seed, epoch, step, rank)``, so a run is reproducible whatever
the number of DataLoader workers, and a resumed run replays exactly the batches it missed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from neuroequi.augment import AugParams, Policy, identity_params
from neuroequi.augment.images import as_images, image_sizes
from neuroequi.errors import ConfigError
from neuroequi.io import atomic_write
from neuroequi.methods import Batch, Requirements

log = logging.getLogger(__name__)

Images = Tensor | list[Tensor]
"""A uint8 batch ``(N, 3, H, W)`` or a list of ``(3, H, W)`` uint8 images of any sizes."""


class ImageSource(Protocol):
    """Indexable labelled images."""

    labels: Tensor
    num_classes: int

    def __len__(self) -> int: ...

    def load(self, indices: list[int]) -> Images: ...


@dataclass
class TensorImages:
    """Images held in memory as one uint8 tensor ``(N, 3, H, W)`` with ``labels (N,)``."""

    images: Tensor
    labels: Tensor
    num_classes: int

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N, 3, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be ({self.images.shape[0]},), got {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def load(self, indices: list[int]) -> Tensor:
        return self.images[indices]


class FolderImages:
    """An ImageFolder tree decoded on demand with PIL (list of ``(3, H, W)`` uint8 per batch);
    ``subset`` keeps a fixed random subset (seed 0) of the images."""

    def __init__(self, root: str | Path, subset: int | None = None) -> None:
        from neuroequi.data.loaders import image_folder

        folder = image_folder(root, "data.root / data.val_root: ImageFolder root")
        self.samples = [folder.samples[i] for i in fixed_subset(len(folder.samples), subset, seed=0).tolist()]
        self.labels = torch.tensor([label for _, label in self.samples], dtype=torch.long)
        self.num_classes = len(folder.classes)

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, indices: list[int]) -> list[Tensor]:
        from neuroequi.data.loaders import read_rgb

        return [
            torch.from_numpy(np.asarray(read_rgb(self.samples[i][0]), dtype=np.uint8).copy()).permute(2, 0, 1)
            for i in indices
        ]


def default_cache_dir() -> Path:
    """Per-user cache for decoded datasets."""
    import pooch

    return Path(pooch.os_cache("neuroequi")) / "decoded"


def fixed_subset(n: int, size: int | None, seed: int) -> Tensor:
    """A fixed random subset of ``range(n)`` of ``size`` indices, sorted (all when None or >= n)."""
    if size is None or size >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:size].sort().values


def cifar10_tensor(
    split: str = "train", cache_dir: str | Path | None = None, subset: int | None = None
) -> TensorImages:
    """CIFAR-10 ``split`` via ``neuroequi.data.cifar10`` as one uint8 tensor, decoded once.

    ``subset`` keeps a fixed random subset (seed 0, all classes) and decodes only those images.
    The decoded tensor is cached in ``cache_dir`` under a name that depends on the source
    directory, split and subset, so a different data tree is never served from a stale cache.
    A cache file that cannot be read (damaged on disk) is decoded again and rewritten, with a
    warning naming it.
    """
    from neuroequi.data import cifar10

    dataset = cifar10(split)
    source = str(getattr(dataset, "root", ""))
    keep = fixed_subset(len(dataset), subset, seed=0)
    key = hashlib.sha256(f"{source}|{split}|{len(dataset)}|{subset}".encode()).hexdigest()[:16]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / f"cifar10_{split}_{len(keep)}_{key}.pt"
    if path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            return TensorImages(blob["images"], blob["labels"], 10)
        except Exception as err:  # any damage (truncation, wrong content): the cache is rebuilt
            log.warning(
                "decoded-image cache %s cannot be read (%s); decoding the images again and rewriting it",
                path,
                type(err).__name__,
            )
    if hasattr(dataset, "data"):  # torchvision.datasets.CIFAR10: (N, 32, 32, 3) uint8
        array, labels = np.asarray(dataset.data)[keep.numpy()], [dataset.targets[i] for i in keep.tolist()]
    else:  # ImageFolder of JPEGs
        samples = [dataset.samples[i] for i in keep.tolist()]
        array = np.stack([np.asarray(dataset.loader(p), dtype=np.uint8) for p, _ in samples])
        labels = [label for _, label in samples]
    images = torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()
    out = TensorImages(images, torch.tensor(labels, dtype=torch.long), 10)
    with atomic_write(path) as tmp:
        torch.save({"images": out.images, "labels": out.labels}, tmp)
    return out


def clean_views(policy: Policy, images: Images) -> Tensor:
    """Un-augmented images resized to the policy's view size, ``(N, 3, S, S)`` float in [0, 1]."""
    return policy.apply(images, identity_params(image_sizes(as_images(images))))


@dataclass(frozen=True)
class ViewMaker:
    """Builds a method's :class:`Batch` from images: the views its :class:`Requirements` ask for.

    With ``matched_halves`` (TeSSL) it samples N/2 parameter sets per view and applies each to
    row i of both halves (crop boxes are relative, so they rescale to each image's size).
    """

    policies: tuple[Policy, Policy]
    requirements: Requirements

    def __call__(self, images: Images, labels: Tensor, generator: torch.Generator) -> Batch:
        n = len(images)
        req = self.requirements
        sizes = image_sizes(as_images(images))
        params = []
        for policy in self.policies[: req.views]:
            if req.matched_halves:
                if n % 2:
                    raise ConfigError(f"TeSSL's matched halves (batch_size / ranks) need an even local batch, got {n}")
                params.append(AugParams.cat([policy.sample(n // 2, generator, sizes[: n // 2])] * 2))
            else:
                params.append(policy.sample(n, generator, sizes))
        views = tuple(policy.apply(images, p) for policy, p in zip(self.policies, params))
        clean = clean_views(self.policies[0], images) if req.clean else None
        return Batch(views=views, params=tuple(params), clean=clean, labels=labels)


def batch_seed(seed: int, epoch: int, step: int, rank: int) -> int:
    """Seed of one batch's augmentations (distinct for every (seed, epoch, step, rank))."""
    digest = hashlib.sha256(f"{seed}/{epoch}/{step}/{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class BatchPlan(Sampler[tuple[int, list[int]]]):
    """Distributed batch sampler: yields ``(augmentation seed, local indices)`` per step.

    Each epoch shuffles all images with a generator seeded by ``(seed, epoch)`` (the same on
    every rank), cuts the permutation into global batches of ``global_batch`` (dropping the
    remainder) and gives rank r the r-th contiguous slice of each, so the ranks' local batches
    concatenated in rank order are exactly the single-process global batch.
    """

    def __init__(self, n_images: int, global_batch: int, world_size: int = 1, rank: int = 0, seed: int = 0) -> None:
        if global_batch % world_size:
            raise ConfigError(f"batch_size {global_batch} must be divisible by the world size {world_size}")
        if n_images < global_batch:
            raise ConfigError(
                f"batch_size: the dataset has {n_images} images, fewer than one global batch of {global_batch}"
            )
        self.n_images, self.global_batch, self.world_size, self.rank, self.seed = (
            n_images,
            global_batch,
            world_size,
            rank,
            seed,
        )
        self.local_batch = global_batch // world_size
        self.epoch, self.start = 0, 0

    @property
    def steps_per_epoch(self) -> int:
        return self.n_images // self.global_batch

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Plan epoch ``epoch`` and skip its first ``start_step`` batches (resume)."""
        if not 0 <= start_step <= self.steps_per_epoch:
            raise ValueError(f"start_step must be in [0, {self.steps_per_epoch}], got {start_step}")
        self.epoch, self.start = epoch, start_step

    def __len__(self) -> int:
        return self.steps_per_epoch - self.start

    def __iter__(self) -> Iterator[tuple[int, list[int]]]:
        perm = torch.randperm(self.n_images, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        lo = self.rank * self.local_batch
        for step in range(self.start, self.steps_per_epoch):
            batch = perm[step * self.global_batch : (step + 1) * self.global_batch]
            yield batch_seed(self.seed, self.epoch, step, self.rank), batch[lo : lo + self.local_batch].tolist()


class BatchSource(Dataset):
    """``(seed, indices)`` -> :class:`Batch` on the CPU (images loaded and augmented)."""

    def __init__(self, images: ImageSource, maker: ViewMaker) -> None:
        self.images, self.maker = images, maker

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: tuple[int, list[int]]) -> Batch:
        seed, indices = item
        generator = torch.Generator().manual_seed(seed)
        return self.maker(self.images.load(indices), self.images.labels[indices], generator)


def _identity(items: Batch) -> Batch:
    return items


def make_loader(source: BatchSource, plan: BatchPlan, workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """DataLoader over a plan (one item = one whole batch; ``workers`` processes build them)."""
    return DataLoader(
        source,
        batch_size=None,
        sampler=plan,
        num_workers=workers,
        collate_fn=_identity,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=2 if workers else None,
    )
