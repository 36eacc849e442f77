"""model_zoo.activations: batched preprocessing, image files through the per-process cache, extract_files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch import nn

from model_zoo import from_module
from model_zoo.activations import ImageCache, cache_images, extract, extract_files, load_preprocessed, preprocess
from neuroequi.errors import ConfigError

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)


def _images(seed: int = 0) -> list[Image.Image]:
    """Images of several sizes and modes (RGB, grey, RGBA, palette), as stimuli come."""
    rng = np.random.default_rng(seed)
    rgb = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 48), (9, 13), (32, 32)]]
    grey = Image.fromarray(rng.integers(0, 256, (21, 17), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (30, 30, 4), dtype=np.uint8))
    return [*rgb, grey, rgba, rgb[0].convert("P")]


def _reference(images: list[Image.Image], size: int) -> torch.Tensor:
    """torchvision's per-image path: resize, to_tensor, normalize (what Brain-Score's preprocessing runs)."""
    return torch.stack(
        [TF.normalize(TF.to_tensor(TF.resize(im.convert("RGB"), [size, size])), list(MEAN), list(STD)) for im in images]
    )


def _save(images: list[Image.Image], folder) -> list[str]:  # noqa: ANN001
    paths = [str(folder / f"{i}.png") for i in range(len(images))]
    for image, path in zip(images, paths):
        image.save(path)
    return paths


def test_batched_preprocessing_is_bit_equal_to_torchvision_per_image():
    images = _images()
    for size in (8, 32):
        batch = preprocess(images, size, MEAN, STD)
        assert torch.equal(batch, _reference(images, size)) and batch.is_contiguous()  # NCHW, as models take it
    with pytest.raises(ConfigError, match="image_size"):
        preprocess(images, 0, MEAN, STD)


def test_files_through_the_cache_equal_the_in_memory_path_and_hit_the_second_time(tmp_path):
    images = _images()
    paths = _save(images, tmp_path)
    cache = ImageCache(2**20)
    first = load_preprocessed(paths, 16, MEAN, STD, cache=cache)
    assert torch.equal(first, preprocess(images, 16, MEAN, STD))
    assert (cache.misses, cache.hits, len(cache)) == (len(paths), 0, len(paths))
    again = load_preprocessed(paths, 16, MEAN, STD, cache=cache)
    assert torch.equal(again, first) and cache.hits == len(paths)
    load_preprocessed(paths, 8, MEAN, STD, cache=cache)  # another size: another key
    assert len(cache) == 2 * len(paths)


def test_a_changed_file_is_decoded_again_never_served_from_the_cache(tmp_path):
    """Even rewritten in place with the same size and the old modification time (what a key on path,
    size and mtime would miss); a copy of a cached file elsewhere is served from the cache."""
    first, other, replacement = _images(0)[0], _images(0)[1], _images(1)[0]  # replacement: first's size, other pixels
    paths = [str(tmp_path / "first.png"), str(tmp_path / "other.png")]
    first.save(paths[0], compress_level=0)  # stored, not compressed: the byte count depends on the size only
    other.save(paths[1])
    cache = ImageCache(2**20)
    before = load_preprocessed(paths, 16, MEAN, STD, cache=cache)
    stat = os.stat(paths[0])
    buffer = io.BytesIO()
    replacement.save(buffer, format="PNG", compress_level=0)
    assert len(buffer.getvalue()) == stat.st_size
    with open(paths[0], "r+b") as file:  # in place: same inode
        file.write(buffer.getvalue())
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    now = os.stat(paths[0])
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    after = load_preprocessed(paths, 16, MEAN, STD, cache=cache)
    assert torch.equal(after[0], preprocess([replacement], 16, MEAN, STD)[0])
    assert not torch.equal(after[0], before[0]) and torch.equal(after[1], before[1])
    copy = tmp_path / "copy.png"
    copy.write_bytes(Path(paths[1]).read_bytes())
    hits = cache.hits
    assert torch.equal(load_preprocessed([str(copy)], 16, MEAN, STD, cache=cache)[0], before[1])
    assert cache.hits == hits + 1


def test_the_cache_stays_within_its_bytes_dropping_the_least_recently_used(tmp_path):
    paths = _save(_images()[:3], tmp_path)
    one = 16 * 16 * 3  # bytes of one resized image
    cache = ImageCache(2 * one)
    load_preprocessed(paths[:2], 16, MEAN, STD, cache=cache)
    load_preprocessed(paths[:1], 16, MEAN, STD, cache=cache)  # paths[0] used last: paths[1] is the oldest
    load_preprocessed(paths[2:], 16, MEAN, STD, cache=cache)
    assert len(cache) == 2
    hits = cache.hits
    load_preprocessed(paths[:1], 16, MEAN, STD, cache=cache)
    assert cache.hits == hits + 1  # kept
    load_preprocessed(paths[1:2], 16, MEAN, STD, cache=cache)
    assert cache.hits == hits + 1  # dropped, decoded again
    cache.put(("big",), np.zeros(3 * one, np.uint8))  # larger than the whole cache: not kept
    assert cache.get(("big",)) is None


def test_images_cached_ahead_are_served_equal_and_the_cache_is_never_overfilled(tmp_path, monkeypatch):
    """cache_images decodes in the calling thread (no decode pool) what load_preprocessed would (it
    then only hits), and stops before it would drop an image it cached: 2 of 3 fit in room for 2."""
    import model_zoo.activations as activations

    images = _images()[:3]
    paths = _save(images, tmp_path)
    cache = ImageCache(2**20)
    with monkeypatch.context() as patched:
        patched.setattr(activations, "_pool", lambda: pytest.fail("cache_images started the decode pool"))
        assert cache_images(paths, 16, cache) == 3
    served = load_preprocessed(paths, 16, MEAN, STD, cache=cache)
    assert torch.equal(served, preprocess(images, 16, MEAN, STD)) and (cache.hits, cache.misses) == (3, 3)
    small = ImageCache(2 * 16 * 16 * 3)
    assert cache_images(paths, 16, small) == 2 and len(small) == 2
    with pytest.raises(ConfigError, match="image_size"):
        cache_images(paths, 0, small)


def _loaded():  # noqa: ANN202
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2))
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5), net[1].running_var.uniform_(0.5, 2)
    return from_module(net, "tiny-files-test", layers=["2", "3"], image_size=16, mean=MEAN, std=STD)


def test_extract_files_equals_extract_and_the_network_on_the_reference_preprocessing(tmp_path):
    images = _images()
    paths = _save(images, tmp_path)
    loaded = _loaded()
    with torch.no_grad():
        x = _reference(images, 16)
        expected = {"2": loaded.module[:3](x).flatten(1), "3": loaded.module(x).flatten(1)}
    in_memory = extract(loaded, images, batch_size=4)
    files = extract_files(loaded, paths, batch_size=4, cache=ImageCache(2**20))
    fast = extract_files(loaded, paths, batch_size=4, fast=True, cache=ImageCache(2**20))
    for layer, values in expected.items():
        assert np.array_equal(in_memory[layer], values.numpy())  # bit for bit
        assert np.array_equal(files[layer], values.numpy())
        np.testing.assert_allclose(fast[layer], values.numpy(), rtol=1e-5, atol=1e-6)  # channels-last: rounding
    assert all(p.is_contiguous() for p in loaded.module.parameters())  # layout restored after fast=True
    with pytest.raises(ConfigError, match="batch_size"):
        extract_files(loaded, paths, batch_size=0)


def _child_loads(paths: list[str], queue) -> None:  # noqa: ANN001
    queue.put(load_preprocessed(paths, 8, MEAN, STD).numpy())


def test_a_forked_child_decodes_with_its_own_pool(tmp_path):
    """The parent's decode threads do not survive a fork: the child must start its own, not wait forever."""
    import multiprocessing

    images = _images()[:2]
    paths = _save(images, tmp_path)
    parent = load_preprocessed(paths, 8, MEAN, STD)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_loads, args=(paths, queue), daemon=True)
    child.start()
    try:
        out = queue.get(timeout=20)
        child.join(timeout=20)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0 and np.array_equal(out, parent.numpy())
