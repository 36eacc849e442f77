"""Projectors and predictors: MLP heads with BatchNorm, as the SSL papers build them."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from neuroequi.errors import ConfigError


def mlp(
    in_dim: int,
    dims: Sequence[int],
    *,
    hidden_bias: bool = False,
    last_bias: bool = True,
    last_bn: bool = False,
) -> nn.Sequential:
    """``Linear -> BN -> ReLU`` for every hidden size, then a last ``Linear`` (+ optional BN).

    Args:
        in_dim: input size D.
        dims: ``[hidden_1, ..., hidden_k, out]``; one entry is a single linear layer.
        hidden_bias: bias in the hidden linear layers (redundant before BN; off by default).
        last_bias: bias in the last linear layer.
        last_bn: end with ``BatchNorm1d(out, affine=False)`` (EquiMod's heads, BYOL-style norms).

    Shapes: ``(N, in_dim) -> (N, dims[-1])``.
    """
    dims = [int(d) for d in dims]
    if in_dim < 1 or not dims or min(dims) < 1:
        raise ConfigError(
            f"a head needs in_dim >= 1 and at least one positive size (projector), got in_dim={in_dim}, dims={dims}"
        )
    layers: list[nn.Module] = []
    sizes = [int(in_dim), *dims]
    for d_in, d_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(d_in, d_out, bias=hidden_bias), nn.BatchNorm1d(d_out), nn.ReLU(inplace=True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=last_bias))
    if last_bn:
        layers.append(nn.BatchNorm1d(sizes[-1], affine=False))
    return nn.Sequential(*layers)


__all__ = ["mlp"]
