"""From a config to the method: backbone, registered method, TeSSL / EquiMod wrapper."""

from __future__ import annotations

import os

import torch
from torch import nn

from neuroequi.augment import Policy, two_view_policies
from neuroequi.augment.families import family_policy
from neuroequi.methods import EquiMod, SSLMethod, TeSSL
from neuroequi.methods.equimod import build_encoder
from neuroequi.checkpoint import load_checkpoint
from neuroequi.errors import CheckpointError
from neuroequi.registry import build_backbone, build_method
from neuroequi.train.config import DataConfig, TrainConfig, config_from_dict


def build_policies(data: DataConfig) -> tuple[Policy, Policy]:
    """The (view A, view B) augmentation policies of a (validated) data config (with ``data.transforms``:
    the family policy of those transformations at ``data.view_size``, twice)."""
    overrides: dict[str, object] = {}
    if data.size is not None:
        overrides["size"] = data.size
    if data.crop_scale is not None:
        overrides["crop_scale"] = tuple(data.crop_scale)
    policies = two_view_policies(data.policy, **overrides)
    if data.transforms is not None:
        return (family_policy(data.transforms, data.view_size),) * 2  # type: ignore[return-value]
    return tuple(policy.restrict(data.restriction) for policy in policies)  # type: ignore[return-value]


def build_model(config: TrainConfig) -> SSLMethod:
    """The method of a (validated) ``config`` (random init from the current torch RNG state).

    ``equivariance: tessl`` wraps it in :class:`~neuroequi.methods.TeSSL` with ``lam`` and
    ``method.tessl``; ``equimod`` in :class:`~neuroequi.methods.EquiMod` with ``method.equimod``,
    whose parameter encoder is fitted on the training policies (seeded by ``config.seed``, so a
    rebuilt model has the same one) or carries the released statistics
    (:func:`~neuroequi.methods.equimod.build_encoder`).
    """
    m = config.model
    backbone = build_backbone(m.arch, m.width, zero_init_residual=m.zero_init_residual)
    method = build_method(config.method.name, config.method.options, backbone, config.data.view_size)
    with torch.random.fork_rng():
        method.bind_policies(build_policies(config.data), config.seed)
    kind, lam = config.method.equivariance, config.method.lam
    if kind == "tessl":
        return TeSSL(method, lam, config.method.tessl.pairing, config.method.tessl.bn_groups)
    if kind == "equimod":
        options = config.method.equimod
        with torch.random.fork_rng():
            encoder = build_encoder(options, build_policies(config.data), config.seed)
        return EquiMod(method, encoder, lam, options)
    return method


def load_method(path: str | os.PathLike) -> nn.Module:
    """The full trained method of a checkpoint (eval mode, CPU): backbone plus every head, e.g. EquiMod's
    projector ``g'`` and predictor ``u_psi`` (``.equi_projector``, ``.aug_projector``,
    ``.predictor``, ``.encoder``), rebuilt from the stored config."""
    blob = load_checkpoint(path)
    model = build_model(config_from_dict(blob["meta"]["config"]))
    try:
        model.load_state_dict(blob["model"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{str(path)!r}: method weights do not fit the stored config: {err}") from err
    return model.eval()
