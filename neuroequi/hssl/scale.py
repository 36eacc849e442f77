"""Scale-equivariant steerable convolutions with an explicit scale axis (SESN; Sosnovik, Szmaja &
Smeulders, ICLR 2020), the scale action on images and feature maps, and the unstructured control.

Feature maps carry a scale axis: ``(batch, channels, S, H, W)`` with ``S = len(scales)``. Index ``i``
on that axis is the response of the filters built at scale ``scales[i]`` (``sigma_i``).

**Basis.** Every filter is a learned combination of a fixed basis (:func:`hermite_basis`): at scale
``sigma`` the 2-d functions ``psi_(a,b)(u, v) = G(u) He_a(u / sigma) * G(v) He_b(v / sigma)`` with the
Gaussian ``G(t) = exp(-t^2 / (2 sigma^2)) / sigma``, the probabilists' Hermite polynomials ``He``,
orders ``a, b < effective_size`` (``effective_size^2`` functions), sampled on an odd grid of
``int(kernel_size * sigma / max(scales)) // 2 * 2 + 1`` pixels, zero-padded to ``kernel_size``, and
every function divided by its l2 norm at the first (smallest) scale. This is SESN's basis "A"
(``ses_basis.steerable_A`` + ``normalize_basis_by_min_scale``); the tests compare it and both layers
with numbers from the authors' code. Since ``psi`` at ``sigma`` is, in the continuum,
``sigma^-2 psi_1(x / sigma)``, a filter at ``sigma`` is the filter at 1 dilated by ``sigma``.

**Scale action.** :func:`~neuroequi.augment.rescale.rescale` shrinks images (or maps) about their centre by a factor
``s in (0, 1]`` (bilinear, pixel-centre coordinates, zero outside: the value a zero-padded network
sees beyond the border). In the continuum, a lifting layer satisfies
``lift(L_s x)[sigma] = L_s lift(x)[sigma / s]``, so shrinking the image by ``s = sigma_0 / sigma_j``
moves the response at ``sigma_0 sigma_j / sigma_0 = sigma_j`` down to index 0. The feature-space action
of the scale element ``j`` (:func:`scale_features`) is therefore: read the scale axis from index ``j``
up (entries beyond the axis are zero) and shrink every map by ``sigma_0 / sigma_j``. It is the
continuum action at *every* index only for a geometric ladder ``sigma_i = sigma_0 q^i``; on the paper's
ladder ``(1, 1.25, 1.33, 1.5, 1.66, 1.75)`` index ``i + j`` stands for ``sigma_i sigma_j / sigma_0`` only at
``i = 0`` (e.g. ``j = 1`` sends index 1 to 1.33 where the continuum asks for 1.56).

**No scale action is exact on a pixel grid**: shrinking interpolates, the basis is sampled on the
pixel grid and truncated at ``kernel_size`` (SESN's support rule gives the scales 1 .. 1.33 a 5-pixel
and the others a 7-pixel support at kernel 7), and the top of the scale axis is cut off. Equivariance
is therefore approximate; :func:`equivariance_error` measures it. Measured in float64 on band-limited
images (``tests/test_hssl_scale.py``), relative error at index 0 for ``j = 1 .. 5``:

* lifting layer, kernel 7, paper's ladder: 0.20, 0.27, 0.06, 0.15, 0.21; a scale convolution after
  it: 0.05 .. 0.23; kernel 21: 0.02 at index 0 but 0.10 .. 0.17 at indices 1 .. 4 (the ladder);
* kernel 15 on the geometric ladder ``2^(k/4)``: 0.014 .. 0.034 at every index (discretisation only);
* the whole ``sesn`` backbone (:class:`~neuroequi.hssl.backbones.ScaleCNN`, width 0.5, eval, ``j = 1, 3,
  5``): 0.11 .. 0.20 after stage 1, 0.14 .. 0.26 after stage 2, 0.30 .. 0.65 at the 8x8 output grid
  (shrinking an 8x8 map is coarse); its unstructured control: 1.08 .. 1.41.

On CIFAR-10 test images, whose content reaches the pixel frequency, the lifting layer's error is about
0.3 even with kernel 11. What *is* exact: translations by whole pixels with circular padding, BatchNorm
shared over the scale axis, pointwise nonlinearities.

**Control** (``structured=False``): the same layers with fully parameterised kernels, one free
``k x k`` kernel per scale (no basis, no tie between scales): a ``S x C x H x W`` output of the same
size and cost whose scale axis carries no structure.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroequi.augment.rescale import rescale
from neuroequi.errors import ConfigError

PAPER_SCALES: tuple[float, ...] = (1.0, 1.25, 1.33, 1.5, 1.66, 1.75)
"""The six scales of Keller et al.'s SESN backbones (the paper's appendix)."""

PADDING_MODES = ("zeros", "circular")


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """``scales`` as a tuple of floats, or ConfigError unless it is non-empty, positive and strictly increasing."""
    values = tuple(float(s) for s in scales)
    if not values or min(values) <= 0 or any(b <= a for a, b in itertools.pairwise(values)):
        raise ConfigError(f"scales must be a non-empty, positive, strictly increasing list, got {list(scales)!r}")
    return values


def hermite_gaussian_1d(size: int, scale: float, max_order: int) -> Tensor:
    """``(max_order + 1, size)`` float64: ``exp(-t^2 / 2 sigma^2) / sigma * He_n(t / sigma)`` at integer
    ``t = -(size // 2) .. size // 2``, ``n = 0 .. max_order`` (``He``: probabilists' Hermite polynomials,
    ``He_0 = 1, He_1 = x, He_(n+1) = x He_n - n He_(n-1)``)."""
    t = torch.arange(size, dtype=torch.float64) - size // 2
    x = t / scale
    polys = [torch.ones_like(x), x]
    for n in range(1, max_order):
        polys.append(x * polys[n] - n * polys[n - 1])
    envelope = torch.exp(-(t**2) / (2 * scale**2)) / scale
    return torch.stack(polys[: max_order + 1]) * envelope


def hermite_basis(kernel_size: int, scales: Sequence[float], effective_size: int) -> Tensor:
    """The multi-scale Hermite-Gaussian basis ``(effective_size^2, S, kernel_size, kernel_size)`` float64.

    Function ``f = b * effective_size + a`` is ``psi_(a, b)`` (order ``a`` along the first spatial axis,
    ``b`` along the second); see the module doc for sampling, padding and normalisation.
    """
    scales = check_scales(scales)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be odd and >= 1, got {kernel_size}")
    if effective_size < 1:
        raise ConfigError(f"effective_size must be >= 1, got {effective_size}")
    order = effective_size - 1
    per_scale = []
    for sigma in scales:
        support = int(kernel_size * sigma / scales[-1]) // 2 * 2 + 1
        if support < effective_size:
            raise ConfigError(
                f"scale {sigma} gives a {support}-pixel support in a {kernel_size}-pixel kernel, fewer than "
                f"effective_size {effective_size}"
            )
        h = hermite_gaussian_1d(support, sigma, order)  # (order + 1, support)
        grid = torch.einsum("au,bv->bauv", h, h).reshape(effective_size**2, support, support)
        pad = (kernel_size - support) // 2
        per_scale.append(F.pad(grid, (pad, pad, pad, pad)))
    basis = torch.stack(per_scale, dim=1)
    return basis / basis[:, :1].pow(2).sum(dim=(-2, -1), keepdim=True).sqrt()


def _shape_check(x: Tensor, dims: int, channels: int, what: str) -> None:
    if x.dim() != dims or x.shape[1] != channels:
        raise ValueError(f"{what} expects {dims}-d input with {channels} channels, got shape {tuple(x.shape)}")


class ScaleConv2d(nn.Module):
    """SESN convolution: lifting ``(N, C_in, H, W) -> (N, C_out, S, H, W)`` or scale-group
    ``(N, C_in, S, H, W) -> (N, C_out, S, H, W)``; stride 1, "same" padding.

    Output scale ``s`` is ``sum_(i < scale_size) conv(x[:, :, s + i], K[s, i])`` (lifting: ``conv(x, K[s])``),
    the input's scale axis zero-padded above its top (SESN's ``SESConv_H_H``); ``scale_size = 1`` keeps the
    scales apart. Structured: ``K[s, i] = sum_f weight[:, :, i, f] * basis[f, s]``, ``weight (C_out, C_in,
    scale_size, F)``. Control (``structured=False``): ``weight (C_out, C_in, scale_size, S, k, k)`` free.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 7,
        effective_size: int = 3,
        scales: Sequence[float] = PAPER_SCALES,
        lifting: bool = False,
        scale_size: int = 1,
        padding_mode: str = "zeros",
        structured: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("scale_size", scale_size)):
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if lifting and scale_size != 1:
            raise ConfigError(f"a lifting layer has no input scale axis: scale_size must be 1, got {scale_size}")
        if padding_mode not in PADDING_MODES:
            raise ConfigError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.scales = check_scales(scales)
        self.num_scales = len(self.scales)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.effective_size, self.lifting, self.scale_size = effective_size, lifting, scale_size
        self.padding_mode, self.structured = padding_mode, structured
        # fixed, so not in the state dict; float64 until the module is cast (kernels() casts to the weight's dtype)
        self.register_buffer("basis", hermite_basis(kernel_size, self.scales, effective_size), persistent=False)
        if structured:
            shape: tuple[int, ...] = (out_channels, in_channels, scale_size, effective_size**2)
        else:
            shape = (out_channels, in_channels, scale_size, self.num_scales, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.empty(shape))
        # He-uniform over one output scale's fan-in (SESN's reset_parameters for the structured layer)
        fan_in = math.prod(shape[1:]) // (1 if structured else self.num_scales)
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def kernels(self) -> Tensor:
        """Filters ``(S, C_out, C_in, scale_size, k, k)``: ``[s]`` is applied to the inputs at scales ``s .. s + scale_size - 1``."""
        if self.structured:
            return torch.einsum("oiaf,fskl->soiakl", self.weight, self.basis.to(self.weight.dtype))
        return self.weight.permute(3, 0, 1, 2, 4, 5)

    def forward(self, x: Tensor) -> Tensor:
        if self.lifting:
            _shape_check(x, 4, self.in_channels, "lifting ScaleConv2d")
            n, s = x.shape[0], self.num_scales
            stacked = x
            groups = 1
        else:
            _shape_check(x, 5, self.in_channels, "ScaleConv2d")
            n, s = x.shape[0], self.num_scales
            if x.shape[2] != s:
                raise ValueError(f"scale axis of the input has {x.shape[2]} entries, the layer has {s} scales")
            padded = F.pad(x, (0, 0, 0, 0, 0, self.scale_size - 1))
            windows = padded.unfold(2, self.scale_size, 1)  # (N, C, S, H, W, scale_size)
            stacked = windows.permute(0, 2, 1, 5, 3, 4).reshape(
                n, s * self.in_channels * self.scale_size, *x.shape[-2:]
            )
            groups = s
        k, pad = self.kernel_size, self.kernel_size // 2
        weight = self.kernels().reshape(s * self.out_channels, -1, k, k)
        if self.padding_mode == "circular" and pad:
            stacked, pad = F.pad(stacked, (pad, pad, pad, pad), mode="circular"), 0
        out = F.conv2d(stacked, weight, padding=pad, groups=groups)
        out = out.view(n, s, self.out_channels, *out.shape[-2:]).transpose(1, 2)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1, 1)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, effective_size="
            f"{self.effective_size}, scales={self.scales}, lifting={self.lifting}, scale_size={self.scale_size}, "
            f"padding_mode={self.padding_mode!r}, structured={self.structured}"
        )


def scale_factors(scales: Sequence[float], steps: Tensor) -> Tensor:
    """Shrink factors ``sigma_0 / sigma_j`` ``(N,)`` float64 of scale elements ``steps (N,)`` (0 .. S - 1)."""
    table = torch.tensor(check_scales(scales), dtype=torch.float64)
    if steps.is_floating_point() or bool((steps < 0).any()) or bool((steps >= len(table)).any()):
        raise ValueError(f"scale elements must be integers in 0 .. {len(table) - 1}, got {steps.tolist()}")
    return table[0] / table[steps.long().cpu()]


def scale_images(images: Tensor, steps: Tensor, scales: Sequence[float]) -> Tensor:
    """``g.x``: images ``(N, C, H, W)`` shrunk by ``sigma_0 / sigma_j`` for the scale elements ``steps (N,)``."""
    return rescale(images, scale_factors(scales, steps).to(images.dtype))


def scale_features(features: Tensor, steps: Tensor, scales: Sequence[float]) -> Tensor:
    """``g.f`` on a scale feature map ``(N, C, S, H, W)``: move index ``i + j`` to ``i`` (zeros where ``i + j >= S``)
    and shrink every map by ``sigma_0 / sigma_j`` (see the module doc for where this is the continuum action)."""
    if features.dim() != 5 or features.shape[2] != len(scales):
        raise ValueError(f"expected a (N, C, {len(scales)}, H, W) scale feature map, got {tuple(features.shape)}")
    factors = scale_factors(scales, steps)
    s = features.shape[2]
    index = torch.arange(s)[None] + steps.long().cpu()[:, None]  # (N, S)
    valid = (index < s).to(features.device)
    gathered = torch.gather(
        features, 2, index.clamp(max=s - 1).to(features.device)[:, None, :, None, None].expand_as(features)
    )
    moved = gathered * valid[:, None, :, None, None].to(features.dtype)
    return rescale(moved, factors.to(features.dtype))


def equivariance_error(expected: Tensor, got: Tensor) -> float:
    """Relative error ``||got - expected|| / ||expected||`` (Frobenius, over every entry)."""
    return float((got - expected).detach().norm() / expected.detach().norm())


__all__ = [
    "PAPER_SCALES",
    "ScaleConv2d",
    "check_scales",
    "equivariance_error",
    "hermite_basis",
    "hermite_gaussian_1d",
    "scale_factors",
    "scale_features",
    "scale_images",
]
