"""Images in, layer activations out: the zoo's preprocessing and its in-memory activation path.

The preprocessing is the one Brain-Score's ``load_preprocess_images`` applies
(resize to ``image_size`` squared with PIL bilinear, scale to [0, 1], normalise
per channel), so activations from :func:`extract` equal those Brain-Score's
``PytorchWrapper`` produces from the same images written to files.
:func:`file_preprocessing` is the callable handed to ``PytorchWrapper``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from model_zoo.loading import LoadedModel
from neuroequi.activations import layer_activations
from neuroequi.errors import ConfigError


def preprocess(
    images: Sequence[Image.Image], image_size: int, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """PIL images (any size/mode) -> float32 tensor ``(N, 3, image_size, image_size)``, normalised."""
    import torchvision.transforms.functional as TF

    if image_size <= 0:
        raise ConfigError(f"image_size must be positive, got {image_size!r}")
    batch = [TF.to_tensor(TF.resize(img.convert("RGB"), [image_size, image_size])) for img in images]
    return TF.normalize(torch.stack(batch), list(mean), list(std))


def _load_and_preprocess(paths: Sequence[str], image_size: int, mean: tuple, std: tuple) -> np.ndarray:
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    return preprocess(images, image_size, mean, std).numpy()


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


def extract(
    loaded: LoadedModel, images: Sequence[Image.Image], layers: Sequence[str] | None = None, batch_size: int = 128
) -> dict[str, np.ndarray]:
    """Activations of ``layers`` (default: all of the model's) to in-memory PIL images.

    Returns ``{layer: array (N, D)}`` with each layer's output flattened per image
    (channel-major, as Brain-Score's packaging flattens it).
    """
    layers = tuple(loaded.layers if layers is None else layers)
    unknown = [layer for layer in layers if layer not in loaded.layers]
    if unknown:
        raise ConfigError(f"layers {unknown} are not layers of {loaded.identifier}; known: {loaded.layers}")
    if batch_size <= 0:
        raise ConfigError(f"batch_size must be positive, got {batch_size!r}")
    batches = (
        preprocess(images[start : start + batch_size], loaded.image_size, loaded.mean, loaded.std)
        for start in range(0, len(images), batch_size)
    )
    outputs = layer_activations(loaded.module, batches, layers)
    return {layer: values.numpy() for layer, values in outputs.items()}
