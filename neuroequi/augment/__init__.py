"""Augmentations that record their parameters: sample, apply, replay, encode.

Quick use::

    policy = get_policy("cifar")                        # any of POLICY_NAMES: byol, byol_view1, simclr, ...
    views, params = policy(images, generator)           # images: uint8/float (N,3,H,W) or PIL list
    same = policy.apply(other_images, params)           # replay (TeSSL matched augmentation)
    views = policy.apply(torch.cat([x1, x2]), params.repeat(2))  # one row shared by two halves
    params.to_dataframe()                               # pandas, one row per image
    encoder = EquiModEncoder.fit(policy, n_samples=100_000, seed=0)
    t = encoder(params)                                 # (N, 15) CIFAR, (N, 18) BYOL ImageNet
    crops_only = policy.restrict("crop")                # or "photometric", "geometric", "full"

Transformation families with their own parameters (rotation, scale, translation, colour, blur
radius, crop, flip; SIE and the augmentation-prediction benchmark): :mod:`neuroequi.augment.families`.

Views are float32 ``(N, 3, S, S)`` in [0, 1] (no mean/std normalisation). Order of
application: crop, flip, colour jitter, grayscale, blur, solarize.

Parameter columns (:data:`COLUMNS`; the value recorded when an augmentation is not applied
is in brackets):

* ``image_h, image_w``: size in pixels of the image the crop box was sampled for.
* ``crop_x, crop_y, crop_w, crop_h``: crop box (top-left corner, width, height) relative to
  the image, in [0, 1]; this is what :meth:`Policy.apply` uses, so a replay on an image of
  another size rescales the box. [0, 0, 1, 1: the whole image]
* ``crop_x_px, crop_y_px, crop_w_px, crop_h_px``: the same box in integer pixels of the
  ``image_h x image_w`` image (torchvision's ``RandomResizedCrop`` sampling).
* ``flip``: 1 if mirrored left-right. [0]
* ``jitter``: 1 if colour jitter applied [0]; ``brightness, contrast, saturation`` factors
  [1, 1, 1]; ``hue`` shift in [-0.5, 0.5] [0]; ``jitter_order_0..3``: index into
  (brightness, contrast, saturation, hue) of the op applied 0th..3rd, torchvision's random
  order ``fn_idx`` [0, 1, 2, 3].
* ``grayscale``: 1 if converted to luma on three channels. [0]
* ``blur``: 1 if Gaussian-blurred [0]; ``blur_sigma`` in pixels of the output [0].
* ``solarize``: 1 if pixels >= the policy threshold (0.5) were inverted. [0]

The tensor kernels follow ``torchvision.transforms.v2.functional`` on float images to 1e-5
(crop+resize = ``resized_crop(..., antialias=False)``, bilinear); uint8 inputs are
converted to float once, before the crop, and never re-quantised.

The scale augmentation of H-SSL's A-SSL (:class:`RandomDownscale`, column ``downscale``: shrink about the
centre, keep the size) is a separate table, not a policy column (:mod:`neuroequi.augment.rescale`).
"""

from __future__ import annotations

import neuroequi  # noqa: F401  (process-wide settings before torchvision may load)
from neuroequi.augment.encoding import EquiModEncoder, encoding_columns
from neuroequi.augment.ops import (
    ColorJitter,
    GaussianBlur,
    HorizontalFlip,
    RandomGrayscale,
    RandomResizedCrop,
    Solarize,
)
from neuroequi.augment.params import COLUMNS, DEFAULTS, JITTER_OPS, AugParams
from neuroequi.augment.policy import (
    POLICY_NAMES,
    RESTRICTIONS,
    VIEW_PAIRS,
    Policy,
    get_policy,
    identity_params,
    two_view_policies,
)
from neuroequi.augment.rescale import RandomDownscale, rescale

__all__ = [
    "COLUMNS",
    "DEFAULTS",
    "JITTER_OPS",
    "POLICY_NAMES",
    "RESTRICTIONS",
    "VIEW_PAIRS",
    "AugParams",
    "ColorJitter",
    "EquiModEncoder",
    "GaussianBlur",
    "HorizontalFlip",
    "Policy",
    "RandomDownscale",
    "RandomGrayscale",
    "RandomResizedCrop",
    "Solarize",
    "encoding_columns",
    "get_policy",
    "identity_params",
    "rescale",
    "two_view_policies",
]
