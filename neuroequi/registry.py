"""The registry: every training method and every backbone of neuroequi, by name, in one place.

:func:`build_method` and :func:`build_backbone` (and :func:`make_options`, :func:`method_spec`)
consult the two tables of this module, :data:`METHOD_REGISTRY` and :data:`BACKBONE_REGISTRY`.
Registration is explicit: each family module only *defines* its members, as a tuple of specs
(``METHOD_SPECS`` of :class:`~neuroequi.methods.base.MethodSpec`, ``BACKBONE_SPECS`` of
:class:`~neuroequi.backbones.BackboneSpec`), and fills no table when it is imported; this module
imports every family and registers it, one line per family below. Nothing under
:mod:`neuroequi.methods`, :mod:`neuroequi.backbones` or :mod:`neuroequi.hssl` imports this module.

A new family (e.g. SIE, equivariance through reconstruction) is one module that defines its
options dataclasses, its builders ``build(options, backbone, image_size) -> SSLMethod`` and a
``METHOD_SPECS`` tuple, plus one line here::

    from neuroequi.methods import reconstruction
    ...
    _register(METHOD_REGISTRY, reconstruction.METHOD_SPECS)

Wrappers that add an equivariance term around a registered method (TeSSL, EquiMod) are not
methods of their own: :func:`neuroequi.train.model.build_model` applies them, with their typed
config sections ``method.tessl`` / ``method.equimod``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from torch import nn

from neuroequi import backbones as resnet_family
from neuroequi.backbones import BackboneSpec
from neuroequi.config import dataclass_from_mapping, to_plain
from neuroequi.errors import ConfigError
from neuroequi.hssl import backbones as group_cnn_family
from neuroequi.hssl import method as homomorphic_family
from neuroequi.methods import invariance as invariance_family
from neuroequi.methods import reconstruction as reconstruction_family
from neuroequi.methods import sie as split_family
from neuroequi.methods.base import MethodSpec, SSLMethod

__all__ = [
    "BACKBONE_REGISTRY",
    "METHOD_REGISTRY",
    "backbone_spec",
    "build_backbone",
    "build_method",
    "make_options",
    "method_spec",
]

SpecT = TypeVar("SpecT", MethodSpec, BackboneSpec)

METHOD_REGISTRY: dict[str, MethodSpec] = {}
"""Method name (``method.name``) -> :class:`~neuroequi.methods.base.MethodSpec`."""

BACKBONE_REGISTRY: dict[str, BackboneSpec] = {}
"""Backbone name (``model.arch``) -> :class:`~neuroequi.backbones.BackboneSpec`."""


def _register(table: dict[str, SpecT], specs: Iterable[SpecT]) -> None:
    """Add ``specs`` to ``table``; a name registered twice is a bug (RuntimeError)."""
    for spec in specs:
        if spec.name in table:
            raise RuntimeError(f"{spec.name!r} is registered twice")
        table[spec.name] = spec


# ------------------------------------------------------------------------------ the families

_register(METHOD_REGISTRY, invariance_family.METHOD_SPECS)  # barlow_twins, simclr, vicreg, mmcr, byol
_register(METHOD_REGISTRY, homomorphic_family.METHOD_SPECS)  # hssl, assl
_register(METHOD_REGISTRY, split_family.METHOD_SPECS)  # sie
_register(METHOD_REGISTRY, reconstruction_family.METHOD_SPECS)  # recon_equi
_register(BACKBONE_REGISTRY, resnet_family.BACKBONE_SPECS)  # resnet18(_cifar), resnet50(_cifar)
_register(BACKBONE_REGISTRY, group_cnn_family.BACKBONE_SPECS)  # p4cnn, z2cnn, sesn, their _controls


# ------------------------------------------------------------------------------ look-ups


def method_spec(name: str) -> MethodSpec:
    """The registered :class:`~neuroequi.methods.base.MethodSpec` of ``name``.

    Raises ConfigError naming ``method.name``, the value and the registered names.
    """
    if name not in METHOD_REGISTRY:
        raise ConfigError(f"method.name: unknown method {name!r}; registered: {sorted(METHOD_REGISTRY)}")
    return METHOD_REGISTRY[name]


def make_options(name: str, values: Mapping[str, Any] | Any = None) -> Any:
    """The options dataclass of method ``name`` filled from ``values`` (a mapping, None, or an
    options dataclass, converted field by field); unknown keys or wrong types -> ConfigError."""
    spec = method_spec(name)
    if isinstance(values, spec.options):
        return values
    plain = to_plain(values) if values is not None else {}
    return dataclass_from_mapping(spec.options, plain, "method.options")


def build_method(name: str, options: Mapping[str, Any] | Any, backbone: nn.Module, image_size: int = 32) -> SSLMethod:
    """Build a registered method on ``backbone``.

    Args:
        name: a key of :data:`METHOD_REGISTRY`.
        options: a mapping of option values, or the method's options dataclass.
        backbone: built by :func:`build_backbone` (``(N, 3, S, S) -> (N, feature_dim)``).
        image_size: side ``S`` of the training views (32: CIFAR-10); methods whose heads
            depend on it (H-SSL, A-SSL, recon_equi's decoder) read it, the others ignore it.
    """
    return method_spec(name).build(make_options(name, options), backbone, image_size)


def backbone_spec(arch: str) -> BackboneSpec:
    """The registered :class:`~neuroequi.backbones.BackboneSpec` of ``arch``.

    Raises ConfigError naming ``model.arch``, the value and the registered names.
    """
    if arch not in BACKBONE_REGISTRY:
        raise ConfigError(f"model.arch: unknown backbone {arch!r}; registered: {sorted(BACKBONE_REGISTRY)}")
    return BACKBONE_REGISTRY[arch]


def build_backbone(arch: str, width: float = 1.0, *, zero_init_residual: bool = False) -> nn.Module:
    """Build a registered backbone: ``resnet18``, ``resnet50``, ``resnet18_cifar``, ``resnet50_cifar``
    (:class:`~neuroequi.backbones.Backbone`) or a group CNN (``p4cnn``, ``z2cnn``, their ``_control``s).

    Args:
        arch: a key of :data:`BACKBONE_REGISTRY`.
        width: channel multiplier (> 0); 1.0 is the standard network.
        zero_init_residual: zero-initialise the last BN of every residual branch (as Barlow Twins /
            BYOL training recipes do); ignored by backbones without residual branches.

    Returns:
        a module ``(N, 3, S, S) -> h (N, feature_dim)`` with ``feature_dim`` and ``layer_names``.
    """
    spec = backbone_spec(arch)
    if spec.residual:
        return spec.build(width, zero_init_residual=zero_init_residual)
    return spec.build(width)
