"""The papers' recipes: every YAML loads, builds the exact modules the authors' code builds, its
README row values are the YAML's, its header names its source; the ``--preset`` command line.

Module signatures (layer types and sizes, BatchNorm placement) were printed from the authors'
code built on the meta device in a scratch folder: CE-SSL ``ThomasYerxa/CE-SSL@403f8148``
(``CE_SSL/models/models_paired.py`` ``Model``, ``models_momentum_paired.py`` ``MomentumModel``
with ``trainers/train_paired.py``'s projector sizes; ``models.py`` / ``models_momentum.py`` with
``trainers/train.py``'s) and EquiMod ``ADevillers/EquiMod`` (``src/model.py`` ``EquiMod`` of
branches ``SimCLR+EquiMod@908c7b4f`` and ``BYOL+EquiMod@5c936cf7`` with the ``.slurm`` arguments).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import neuroequi  # noqa: F401
from neuroequi.backbones import torchvision_reference
from neuroequi.cli import main
from neuroequi.errors import ConfigError
from neuroequi.train import load_config
from neuroequi.train.model import build_model
from neuroequi.train.recipes import RECIPES_DIR, load_recipe, recipe_names


def signature(seq: nn.Module) -> str:
    """``Linear(in,out,bias=..)|BatchNorm1d(n,affine=..)|ReLU|...`` of a sequential head."""
    out = []
    for m in seq:
        if isinstance(m, nn.Linear):
            out.append(f"Linear({m.in_features},{m.out_features},bias={m.bias is not None})")
        elif isinstance(m, nn.BatchNorm1d):
            out.append(f"BatchNorm1d({m.num_features},affine={m.affine})")
        elif not isinstance(m, nn.Identity):
            out.append(type(m).__name__)
    return "|".join(out)


def _mlp(*layers: str) -> str:
    return "|".join(layers)


LIN, BN, RELU = "Linear({},{},bias={})", "BatchNorm1d({},affine={})", "ReLU"
# CE-SSL g / g_1 / g_2 (and their momentum copies)
CESSL_BARLOW = _mlp(
    LIN.format(2048, 8192, False),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 8192, False),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 8192, False),
)
CESSL_512 = _mlp(
    LIN.format(2048, 8192, False),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 8192, False),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 512, False),
)
CESSL_512_BIAS = _mlp(
    LIN.format(2048, 8192, True),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 8192, True),
    BN.format(8192, True),
    RELU,
    LIN.format(8192, 512, False),
)


def _equimod_heads(h: int, p_dim: int, byol: bool) -> dict[str, str]:
    """EquiMod's released heads on a backbone of width ``h`` with a ``p_dim``-d parameter vector."""
    eq = _mlp(
        LIN.format(h, 2048, False),
        BN.format(2048, True),
        RELU,
        LIN.format(2048, 2048, False),
        BN.format(2048, True),
        RELU,
        LIN.format(2048, 128, False),
        BN.format(128, False),
    )
    heads = {
        "equi_projector": eq,
        "aug_projector": _mlp(LIN.format(p_dim, 128, False), BN.format(128, True)),
        "predictor": _mlp(LIN.format(256, 128, False), BN.format(128, False)),
    }
    if byol:
        proj = _mlp(LIN.format(h, 4096, False), BN.format(4096, True), RELU, LIN.format(4096, 256, True))
        pred = _mlp(LIN.format(256, 4096, False), BN.format(4096, True), RELU, LIN.format(4096, 256, True))
        heads.update(
            {
                "method.heads.inv.projector": proj,
                "method.heads.inv.target_projector": proj,
                "method.heads.inv.predictor": pred,
            }
        )
    else:
        heads["method.heads.inv"] = eq  # SimCLR's proj_head_inv has the same layout as g'
    return heads


HEADS: dict[str, tuple[str, dict[str, str]]] = {  # recipe -> (backbone, {module path: authors' signature})
    "tessl-barlow-imagenet": ("resnet50", {"method.heads.inv": CESSL_BARLOW, "method.heads.equi": CESSL_BARLOW}),
    "tessl-simclr-imagenet": ("resnet50", {"method.heads.inv": CESSL_512, "method.heads.equi": CESSL_512}),
    "tessl-mmcr-imagenet": (
        "resnet50",
        {f"method.heads.{h}.{p}": CESSL_512 for h in ("inv", "equi") for p in ("projector", "target_projector")},
    ),
    "cessl-barlow-imagenet": ("resnet50", {"heads.inv": CESSL_BARLOW}),
    "cessl-simclr-imagenet": ("resnet50", {"heads.inv": CESSL_512_BIAS}),
    "cessl-mmcr-imagenet": ("resnet50", {"heads.inv.projector": CESSL_512, "heads.inv.target_projector": CESSL_512}),
    "equimod-simclr-cifar10": ("resnet18_cifar", _equimod_heads(512, 15, byol=False)),
    "equimod-simclr-imagenet": ("resnet50", _equimod_heads(2048, 17, byol=False)),
    "equimod-byol-cifar10": ("resnet18_cifar", _equimod_heads(512, 18, byol=True)),
    "equimod-byol-imagenet": ("resnet50", _equimod_heads(2048, 18, byol=True)),
}


def test_every_recipe_is_covered() -> None:
    assert set(recipe_names()) == set(HEADS)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_recipe_loads_and_builds_the_authors_modules(name: str) -> None:
    config = load_config(RECIPES_DIR / f"{name}.yaml")
    arch, heads = HEADS[name]
    with torch.device("meta"):
        model = build_model(config)
        reference = torchvision_reference(arch)
    for path, expected in heads.items():
        assert signature(model.get_submodule(path)) == expected, path
    backbone = {k: tuple(v.shape) for k, v in model.backbone.state_dict().items()}
    assert backbone == {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    invariance = model.method if hasattr(model, "method") else model
    assert set(invariance.heads) == ({"inv", "equi"} if config.method.equivariance == "tessl" else {"inv"})


@pytest.mark.parametrize("name", sorted(HEADS))
def test_recipe_header_names_its_source(name: str) -> None:
    header = [line for line in (RECIPES_DIR / f"{name}.yaml").read_text().splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert re.search(r"Source: github\.com/(ThomasYerxa/CE-SSL|ADevillers/EquiMod)\b.* @ [0-9a-f]{40}", text), text
    assert "README.md" in text


def _tables() -> list[tuple[list[str], list[list[str]]]]:
    """(recipe names, rows) of every table in the recipes README whose header names recipes."""
    tables, lines = [], (RECIPES_DIR / "README.md").read_text().splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "key" and cells[-1] == "source":
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            tables.append((cells[1:-1], rows))
    return tables


def _value(values: dict, key: str) -> object:
    for part in key.split("."):
        values = values[part]
    return values


def test_readme_tables_list_every_recipe_with_its_values() -> None:
    tables = _tables()
    assert sorted(name for names, _ in tables for name in names) == sorted(HEADS)
    checked = 0
    for names, rows in tables:
        configs = {name: load_config(RECIPES_DIR / f"{name}.yaml").to_dict() for name in names}
        for row in rows:
            key = row[0].strip("`")
            assert row[-1] or key in ("method.equivariance", "optim.lr_scaling"), f"{key}: no source"
            for name, cell in zip(names, row[1:-1], strict=True):
                if cell == "—":
                    continue
                assert _value(configs[name], key) == yaml.safe_load(cell), (name, key, cell)
                checked += 1
    assert checked > 250


# ----------------------------------------------------------------------------- loading and CLI


def test_load_recipe_accepts_overrides_that_keep_the_architecture() -> None:
    config = load_recipe("tessl-mmcr-imagenet", ["method.lam=0.2", "name=x", "method.options.momentum_tau=0.995"])
    assert config.method.lam == 0.2 and config.method.options.momentum_tau == 0.995
    assert load_recipe(RECIPES_DIR / "equimod-byol-cifar10.yaml").method.equimod.statistics == "byol_cifar10"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("method.options.projector=[512, 512]", "fixes method.options.projector"),
        ("model.arch=resnet18", "fixes model.arch"),
        ("method.tessl.bn_groups=views", "fixes method.tessl.bn_groups"),
        ("method.options.momentum_tau=null", "momentum branch"),
    ],
)
def test_recipe_overrides_that_contradict_the_architecture_are_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_recipe("tessl-mmcr-imagenet", [override])


def test_bad_recipe_input_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown recipe 'tessl-barlow'; valid:"):
        load_recipe("tessl-barlow")
    with pytest.raises(ConfigError, match=r"momentum tau \(method.options.momentum_tau\) must be a number in \[0, 1\)"):
        load_recipe("tessl-mmcr-imagenet", ["method.options.momentum_tau=1.0"])
    with pytest.raises(ConfigError, match="equimod.heads"):
        load_recipe("equimod-simclr-cifar10", ["method.equimod.heads=neuroequi"])


def test_train_command_lists_recipes_and_reports_bad_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = "".join(capsys.readouterr().out.split())  # help lines may wrap inside a name
    assert all(name in text for name in recipe_names()) and "--presetNAME" in text
    assert main(["train", "--preset", "no-such-recipe"]) == 2
    assert "unknown recipe 'no-such-recipe'" in capsys.readouterr().err
    assert main(["train", "--recipe", "tessl-barlow-imagenet", "method.options.projector=[64]"]) == 2
    err = capsys.readouterr().err  # the old spelling --recipe: a one-line notice, then the same check
    assert "--recipe is now --preset" in err and "fixes method.options.projector" in err


def test_the_paper_config_is_the_recipe_but_for_precision_and_lambda() -> None:
    paper = load_config(Path(neuroequi.__file__).parent / "configs" / "imagenet_tessl_barlow_r50.yaml").to_dict()
    recipe = load_recipe("tessl-barlow-imagenet").to_dict()
    for values in (paper, recipe):
        for key in ("name", "output_dir", "seed", "precision", "checkpoint_every", "monitor"):
            values.pop(key)
        values["method"].pop("lam")
    assert paper == recipe
