"""Images in, layer activations out: the zoo's preprocessing and its activation paths.

The preprocessing is the one Brain-Score's ``load_preprocess_images`` applies
(resize to ``image_size`` squared with PIL bilinear, scale to [0, 1], normalise
per channel), so activations from :func:`extract` (in-memory PIL images) and
:func:`extract_files` (image files) equal those Brain-Score's ``PytorchWrapper``
produces from the same images written to files (bit for bit; with ``fast=True``, channels-last
convolutions, up to float rounding). :func:`file_preprocessing` is the callable handed to ``PytorchWrapper``.

Speed without changing a value: the resize runs in PIL per image (the one step whose
arithmetic is PIL's), in a thread pool (PIL releases the GIL while it decodes and resizes);
scaling and normalisation run once per batch as tensor operations (the same float32
operations ``to_tensor`` and ``normalize`` apply per image, so the same bits). A file's resized
pixels are kept in a bounded per-process cache (:data:`IMAGE_CACHE`) keyed on the file's content
and the image size, so a stimulus is decoded once per process however many benchmarks (or
copies of it) show it, and a file changed on disk is decoded again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from PIL import Image

from model_zoo.loading import LoadedModel
from neuroequi.activations import layer_activations
from neuroequi.errors import ConfigError

#: Threads that decode and resize images (PIL releases the GIL); the forward pass keeps its own.
DECODE_THREADS = 2


def _resized(image: Image.Image, image_size: int) -> np.ndarray:
    """One image -> uint8 array ``(image_size, image_size, 3)``: RGB, PIL bilinear resize (torchvision's ``resize``)."""
    import torchvision.transforms.functional as TF

    return np.asarray(TF.resize(image.convert("RGB"), [image_size, image_size]))


def normalize(pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 ``(N, S, S, 3)`` -> float32 ``(N, 3, S, S)`` (contiguous): ``(x / 255 - mean) / std`` per channel,
    the float32 operations of torchvision's ``to_tensor`` and ``normalize`` in their order (so the same bits),
    on the batch in one pass of copies."""
    out = pixels.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format).div_(255)
    shape = (1, -1, 1, 1)
    return out.sub_(torch.tensor(mean, dtype=torch.float32).view(shape)).div_(
        torch.tensor(std, dtype=torch.float32).view(shape)
    )


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="decode")


def _check_size(image_size: int) -> None:
    if image_size <= 0:
        raise ConfigError(f"image_size must be positive, got {image_size!r}")


def preprocess(
    images: Sequence[Image.Image], image_size: int, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """PIL images (any size/mode) -> float32 tensor ``(N, 3, image_size, image_size)``, normalised."""
    _check_size(image_size)
    pixels = list(_pool().map(functools.partial(_resized, image_size=image_size), images))
    return normalize(torch.from_numpy(np.stack(pixels)), mean, std)


class ImageCache:
    """Resized pixels of image files, least recently used first out, at most ``max_bytes`` in all.

    Keyed on the file's content (:meth:`key`) and the image size: a file rewritten or replaced
    gets a new key, so the cache never serves old pixels (the file is read at every use; reading
    and hashing cost about a tenth of decoding a PNG stimulus). Thread-safe; the arrays it
    returns are read-only.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(data: bytes, image_size: int) -> tuple[bytes, int]:
        """The cache key of an image file's bytes ``data`` resized to ``image_size``: its content's
        BLAKE2b digest (128 bits), so a changed file never matches and a copy elsewhere does."""
        return hashlib.blake2b(data, digest_size=16).digest(), image_size

    def get(self, key: tuple) -> np.ndarray | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple, pixels: np.ndarray) -> None:
        if pixels.nbytes > self.max_bytes:
            return
        pixels.setflags(write=False)
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += pixels.nbytes - (old.nbytes if old is not None else 0)
            self._items[key] = pixels
            while self._bytes > self.max_bytes:
                self._bytes -= self._items.popitem(last=False)[1].nbytes

    def has_room(self, nbytes: int) -> bool:
        """True when ``nbytes`` more fit without evicting anything."""
        with self._lock:
            return self._bytes + nbytes <= self.max_bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


#: The process's cache of decoded, resized stimuli (256 MiB: 87,000 images at 32 px, 1,700 at 224 px).
IMAGE_CACHE = ImageCache(256 * 2**20)


def _after_fork() -> None:
    """A forked child has none of the parent's threads: a new decode pool and a free cache lock."""
    _pool.cache_clear()
    IMAGE_CACHE._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _load_resized(path: str, image_size: int, cache: ImageCache) -> np.ndarray:
    """The resized pixels of the file at ``path``: read, then decoded unless its content is cached."""
    with open(path, "rb") as file:
        data = file.read()
    key = ImageCache.key(data, image_size)
    pixels = cache.get(key)
    if pixels is None:
        with Image.open(io.BytesIO(data)) as img:
            pixels = _resized(img, image_size)
        cache.put(key, pixels)
    return pixels


def cache_images(paths: Sequence[str], image_size: int, cache: ImageCache | None = None) -> int:
    """Decode and resize the image files ``paths`` (``image_size`` squared) into ``cache`` (default
    :data:`IMAGE_CACHE`) ahead of their use, in this thread (no decode pool: safe in a process that
    forks afterwards), stopping before the cache would evict; how many of ``paths`` it now holds."""
    _check_size(image_size)
    cache = IMAGE_CACHE if cache is None else cache
    for done, path in enumerate(paths):
        if not cache.has_room(image_size * image_size * 3):
            return done
        _load_resized(str(path), image_size, cache)
    return len(paths)


def load_preprocessed(
    paths: Sequence[str],
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    cache: ImageCache | None = None,
) -> torch.Tensor:
    """Image files -> float32 tensor ``(N, 3, image_size, image_size)``, normalised (as :func:`preprocess`);
    decoded in :data:`DECODE_THREADS` threads, through ``cache`` (default :data:`IMAGE_CACHE`)."""
    _check_size(image_size)
    load = functools.partial(_load_resized, image_size=image_size, cache=IMAGE_CACHE if cache is None else cache)
    return normalize(torch.from_numpy(np.stack(list(_pool().map(load, [str(p) for p in paths])))), mean, std)


def _load_and_preprocess(paths: Sequence[str], image_size: int, mean: tuple, std: tuple) -> np.ndarray:
    return load_preprocessed(paths, image_size, mean, std).numpy()


def preprocessing_key(loaded: LoadedModel) -> str:
    """``s<size>-<first 8 hex digits of sha256 of [size, mean, std]>``: the preprocessing part of a cache key
    (the identifier carries the weights; a cache keyed on both serves only what these inputs give)."""
    text = json.dumps([int(loaded.image_size), [float(m) for m in loaded.mean], [float(s) for s in loaded.std]])
    return f"s{loaded.image_size}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def file_preprocessing(loaded: LoadedModel) -> Callable[[Sequence[str]], np.ndarray]:
    """Brain-Score preprocessing for ``loaded``: image paths -> ``(N, 3, S, S)`` float32 array."""
    return functools.partial(
        _load_and_preprocess, image_size=loaded.image_size, mean=tuple(loaded.mean), std=tuple(loaded.std)
    )


@contextmanager
def channels_last(module: torch.nn.Module, on: bool = True) -> Iterator[None]:
    """``module``'s 4-d weights in channels-last layout while the block runs (faster convolutions on CPU:
    1.2x for the CIFAR ResNet-20, ``bench_brainscore.py``; values equal up to float rounding, 7e-7 of
    the largest activation there), then back."""
    if not on:
        yield
        return
    module.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        module.to(memory_format=torch.contiguous_format)


def prefetched(make: Callable, chunks: Iterable) -> Iterator:
    """``make(chunk)`` for each chunk, the next one made in a background thread while the caller uses this one."""
    with ThreadPoolExecutor(1, thread_name_prefix="prefetch") as pool:
        pending = None
        for chunk in chunks:
            following = pool.submit(make, chunk)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()


def _checked(loaded: LoadedModel, layers: Sequence[str] | None, batch_size: int) -> tuple[str, ...]:
    layers = tuple(loaded.layers if layers is None else layers)
    unknown = [layer for layer in layers if layer not in loaded.layers]
    if unknown:
        raise ConfigError(f"layers {unknown} are not layers of {loaded.identifier}; known: {loaded.layers}")
    if batch_size <= 0:
        raise ConfigError(f"batch_size must be positive, got {batch_size!r}")
    return layers


def _run(
    loaded: LoadedModel, batches: Iterable[torch.Tensor], layers: tuple[str, ...], fast: bool
) -> dict[str, np.ndarray]:
    """``{layer: (N, D) array}`` of ``loaded`` on ``batches`` (channels-last when ``fast``)."""
    memory = torch.channels_last if fast else torch.contiguous_format
    with channels_last(loaded.module, fast):
        outputs = layer_activations(loaded.module, (b.contiguous(memory_format=memory) for b in batches), layers)
    return {layer: values.numpy() for layer, values in outputs.items()}


def extract(
    loaded: LoadedModel,
    images: Sequence[Image.Image],
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    fast: bool = False,
) -> dict[str, np.ndarray]:
    """Activations of ``layers`` (default: all of the model's) to in-memory PIL images.

    Returns ``{layer: array (N, D)}`` with each layer's output flattened per image
    (channel-major, as Brain-Score's packaging flattens it). The next batch is preprocessed
    while the network runs on this one. ``fast``: channels-last convolutions (values equal
    to Brain-Score's up to float rounding instead of bit for bit).
    """
    layers = _checked(loaded, layers, batch_size)
    chunks = (images[start : start + batch_size] for start in range(0, len(images), batch_size))
    make = functools.partial(preprocess, image_size=loaded.image_size, mean=loaded.mean, std=loaded.std)
    return _run(loaded, prefetched(make, chunks), layers, fast)


def extract_files(
    loaded: LoadedModel,
    paths: Sequence[str],
    layers: Sequence[str] | None = None,
    batch_size: int = 64,
    fast: bool = False,
    cache: ImageCache | None = None,
) -> dict[str, np.ndarray]:
    """:func:`extract` of image files (``paths``), decoded through ``cache`` (default :data:`IMAGE_CACHE`)."""
    layers = _checked(loaded, layers, batch_size)
    return _run(loaded, file_batches(loaded, paths, batch_size, cache), layers, fast)


def file_batches(
    loaded: LoadedModel, paths: Sequence[str], batch_size: int, cache: ImageCache | None = None
) -> Iterator[torch.Tensor]:
    """Preprocessed batches ``(B, 3, S, S)`` of the files ``paths`` for ``loaded`` (:func:`load_preprocessed`),
    the next one decoded while the caller uses this one."""
    chunks = (paths[start : start + batch_size] for start in range(0, len(paths), batch_size))
    make = functools.partial(
        load_preprocessed, image_size=loaded.image_size, mean=loaded.mean, std=loaded.std, cache=cache
    )
    return prefetched(make, chunks)
