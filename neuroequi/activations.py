"""Layer activations of a network: forward hooks on named layers, batch by batch.

The one activation-extraction function of the project: the training monitors
(:mod:`neuroequi.train.monitor`), the model zoo's in-memory path
(:mod:`model_zoo.activations`) and the analyses' responses
(:mod:`analyses.responses`) all call :func:`layer_activations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from neuroequi.errors import ConfigError, IntegrityError
from neuroequi.io import progress as progress_bar

__all__ = ["layer_activations"]


class _Stop(Exception):
    """Raised by a hook to end a forward pass early (``stop_early``)."""


def layer_activations(
    module: nn.Module,
    batches: Iterable[Tensor],
    layers: Sequence[str],
    *,
    total: int | None = None,
    desc: str | None = None,
    progress: bool = False,
    stop_early: bool = False,
) -> dict[str, Tensor]:
    """Run ``module`` on every batch and return the outputs of the named ``layers``.

    Args:
        module: the network; it is called as it is (the caller sets eval mode,
            device and any autocast context around this call).
        batches: input batches, each ``(B_i, ...)`` as ``module`` takes them (already
            normalised and on the module's device); consumed lazily, so a generator
            may prepare the next batch while the network runs.
        layers: names of ``module.get_submodule`` (``""``: the module itself, i.e.
            its forward output). When a layer runs more than once in a forward
            pass, its last output is kept.
        total, desc, progress: a progress bar over ``total`` inputs named ``desc`` (on a terminal only).
        stop_early: end each forward pass as soon as every layer in ``layers`` has produced
            an output (the rest of the network does not run; a layer's *first* output is kept).

    Returns:
        ``{layer: Tensor (N, D_layer)}``, float32 on the CPU, ``N = sum_i B_i``;
        each output flattened per input, ``D_layer = prod(output.shape[1:])``
        (channel-major for convolutional maps, as Brain-Score flattens them).

    Raises:
        ConfigError: a name in ``layers`` is not a submodule of ``module``.
        IntegrityError: a layer's output holds NaN or inf (weights that overflow, e.g. 1e30,
            would otherwise turn every downstream measure into NaN).
    """
    named = dict(module.named_modules())
    unknown = [layer for layer in layers if layer not in named]
    if unknown:
        hookable = [name for name in named if name]
        raise ConfigError(
            f"layers {unknown} are not modules of {type(module).__name__}; "
            f"modules: {hookable[:40]}{' ...' if len(hookable) > 40 else ''}"
        )
    current: dict[str, Tensor] = {}

    def hook(name: str):
        def keep(_module: nn.Module, _inputs: object, output: Tensor) -> None:
            if not stop_early:
                current[name] = output
                return
            current.setdefault(name, output)
            if len(current) == len(set(layers)):
                raise _Stop

        return keep

    handles = [named[layer].register_forward_hook(hook(layer)) for layer in layers]
    chunks: dict[str, list[Tensor]] = {layer: [] for layer in layers}
    try:
        with (
            torch.no_grad(),
            progress_bar(total=total, unit="img", desc=desc, leave=False, enabled=None if progress else False) as bar,
        ):
            for batch in batches:
                current.clear()
                try:
                    module(batch)
                except _Stop:
                    pass
                for layer in layers:
                    chunks[layer].append(current[layer].detach().flatten(1).float().cpu())
                    if not bool(torch.isfinite(chunks[layer][-1]).all()):
                        raise IntegrityError(
                            f"layer {layer!r} of {type(module).__name__} gives non-finite activations (NaN or inf): "
                            "its weights overflow or are damaged, so every measure of it would be NaN"
                        )
                bar.update(batch.shape[0])
    finally:
        for handle in handles:
            handle.remove()
    return {layer: torch.cat(parts) if parts else torch.empty(0, 0) for layer, parts in chunks.items()}
