"""Conformance with the authors' released code: golden values computed by running it.

The numbers below were produced by running the released code (never copied into this project)
in a scratch folder on the seeded inputs that :func:`seeded` builds here, with float64
tensors, on torch 2.13.0 (CPU):

* CE-SSL: ``ThomasYerxa/CE-SSL`` commit ``403f814830fd911807d3a3818c7d9dfcaf937372``,
  ``CE_SSL/losses/loss_mmcr_momentum.py`` (``MMCR_Momentum_Loss.forward``),
  ``loss_mmcr_momentum_paired.py``, ``loss_barlow.py``, ``loss_barlow_paired.py``,
  ``loss_simclr.py``, ``loss_simclr_paired.py`` (``forward`` of each, ``distributed=False``;
  the SimCLR loss gathers unconditionally, so it ran in a one-process gloo group),
  ``CE_SSL/models/models_paired.py`` / ``models_momentum_paired.py`` (``Model``,
  ``MomentumModel`` and their ``ComposerWrapper.forward`` / ``loss``: one module call per
  half-view t0, p0, t1, p1) and ``models_momentum.py`` (``MomentumModel.forward``, one call
  per view).
* EquiMod: ``ADevillers/EquiMod`` branch ``SimCLR+EquiMod`` commit
  ``908c7b4f674c536574e0226abd4f7ce85c014e31`` and branch ``BYOL+EquiMod`` commit
  ``5c936cf7dbfccea6c3bc9d3d4cfc5018f5de8d38``: ``src/loss.py`` (``NTXentLoss.forward``,
  ``BYOLLoss.forward``), ``src/model.py`` (``EquiMod.forward``, ``MomentumResNet``) with
  the loss of ``src/main.py`` ``train_repr`` (``loss_z + lmbd * loss_eq_y``, one process).

Models ran with every parameter set to :func:`canonical_value` of its name in the authors'
module (the same values are written here under our names via the name maps below), on
16-px images, in training mode (BatchNorm batch statistics). A gradient is summarised as
``[sum, Frobenius norm, sum(grad * seeded(shape, 12345))]``. Our implementation must match
to 1e-6 (relative).
"""

from __future__ import annotations

import math
import re
import zlib

import pytest
import torch
from torch import Tensor, nn

import neuroequi  # noqa: F401
from neuroequi.augment import AugParams, EquiModEncoder, get_policy
from neuroequi.augment.encoding import encoding_columns

from neuroequi.losses import (
    BarlowTwinsLoss,
    BYOLLoss,
    MMCRLoss,
    NTXentLoss,
    equimod_loss,
)
from neuroequi.methods import Batch, EquiMod, EquiModOptions, TeSSL
from neuroequi.registry import build_backbone, build_method
from neuroequi.methods.tessl import equivariant_pairs

CESSL = "ThomasYerxa/CE-SSL@403f8148"
SIMCLR_EQUIMOD = "ADevillers/EquiMod@908c7b4f (SimCLR+EquiMod)"
BYOL_EQUIMOD = "ADevillers/EquiMod@5c936cf7 (BYOL+EquiMod)"


def seeded(shape: tuple[int, ...], seed: int) -> Tensor:
    """Standard-normal float64 tensor from a generator seeded with ``seed``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def summary(t: Tensor) -> list[float]:
    """``[sum, norm, projection on seeded(shape, 12345)]`` of a tensor."""
    t = t.detach().double()
    return [float(t.sum()), float(t.norm()), float((t * seeded(tuple(t.shape), 12345)).sum())]


def canonical_value(name: str, shape: tuple[int, ...]) -> Tensor:
    """The value given to the parameter called ``name`` (in the authors' module): seeded by the
    CRC-32 of the name; ``randn / sqrt(fan_in)`` for weights, ``1 + 0.1 randn`` for vectors."""
    v = torch.randn(*shape, generator=torch.Generator().manual_seed(zlib.crc32(name.encode())), dtype=torch.float64)
    return v / math.sqrt(math.prod(shape[1:])) if len(shape) >= 2 else 1 + 0.1 * v


def fill(module: nn.Module, rules: list[tuple[str, str, int]]) -> None:
    """Set every parameter of ``module`` to :func:`canonical_value` of its name in the authors'
    module: ``rules`` map our name prefixes to theirs, shifting the first index after the prefix
    by the given amount (CE-SSL's paired projectors start with an ``nn.Identity``)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            for ours, theirs, shift in rules:
                if name.startswith(ours):
                    rest = name[len(ours) :]
                    if shift:
                        rest = re.sub(r"^(\d+)", lambda m, s=shift: str(int(m.group(1)) + s), rest)
                    p.copy_(canonical_value(theirs + rest, tuple(p.shape)))
                    break
            else:
                raise AssertionError(f"no name rule for {name}")


def assert_golden(got: float | list[float], expected: float | list[float]) -> None:
    torch.testing.assert_close(
        torch.tensor(got, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64), rtol=1e-6, atol=1e-9
    )


# ------------------------------------------------------------------------------- loss level


@pytest.mark.parametrize(
    ("lambda_local", "loss", "grad_z1", "grad_z2"),
    [
        (
            0.0,
            -5.220798354035059,
            [0.2629048052231008, 0.25442429790987414, -0.5724204531880612],
            [0.11987422074921389, 0.2361368046207832, -0.3360227916496962],
        ),
        (
            0.5,
            -3.3237665216970935,
            [0.27629982616418736, 0.25183432400541295, -0.5422989573295829],
            [0.13972252902939336, 0.23601484027513464, -0.3237411305516994],
        ),
    ],
)
def test_mmcr_momentum_loss_matches_cessl(
    lambda_local: float, loss: float, grad_z1: list[float], grad_z2: list[float]
) -> None:
    """CESSL loss_mmcr_momentum.py: centroids of the two online and two momentum views."""
    z1, z2 = seeded((16, 8), 1).requires_grad_(), seeded((16, 8), 2).requires_grad_()
    got = MMCRLoss(lambda_local)(z1, z2, seeded((16, 8), 3), seeded((16, 8), 4))
    got.backward()
    assert_golden(got.item(), loss)
    assert_golden(summary(z1.grad), grad_z1)
    assert_golden(summary(z2.grad), grad_z2)


def test_mmcr_momentum_equals_two_views_with_half_the_gradient_when_target_is_online() -> None:
    z1, z2 = seeded((16, 8), 1).requires_grad_(), seeded((16, 8), 2).requires_grad_()
    two = MMCRLoss()(z1, z2)
    (g1,) = torch.autograd.grad(two, z1)
    four = MMCRLoss()(z1, z2, z1.detach(), z2.detach())
    (g4,) = torch.autograd.grad(four, z1)
    torch.testing.assert_close(four, two)
    torch.testing.assert_close(g4, g1 / 2)


def _paired_online() -> list[Tensor]:
    """inv_00, equi_00, inv_01, equi_01, inv_10, equi_10, inv_11, equi_11 (seeds 10..17)."""
    return [seeded((8, 8), 10 + k).requires_grad_() for k in range(8)]


def _tessl_loss(z: list[Tensor], loss: nn.Module, lam: float, momentum: list[Tensor] | None = None) -> Tensor:
    """Our TeSSL objective (image pairing) on CE-SSL's eight half-view embeddings."""
    inv_a, inv_b = torch.cat([z[0], z[4]]), torch.cat([z[2], z[6]])
    equi_a, equi_b = torch.cat([z[1], z[5]]), torch.cat([z[3], z[7]])
    if momentum is None:
        return (1 - lam) * loss(inv_a, inv_b) + lam * loss(*equivariant_pairs(equi_a, equi_b, "image"))
    m = momentum

    def stack(online: Tensor, target: Tensor) -> Tensor:
        return torch.stack([online, target], dim=1)

    inv_a, inv_b = stack(inv_a, torch.cat([m[0], m[4]])), stack(inv_b, torch.cat([m[2], m[6]]))
    equi_a, equi_b = stack(equi_a, torch.cat([m[1], m[5]])), stack(equi_b, torch.cat([m[3], m[7]]))
    d1, d2 = equivariant_pairs(equi_a, equi_b, "image")
    return (1 - lam) * loss(inv_a[:, 0], inv_b[:, 0], inv_a[:, 1], inv_b[:, 1]) + lam * loss(
        d1[:, 0], d2[:, 0], d1[:, 1], d2[:, 1]
    )


PAIRED = {
    "mmcr_momentum": (
        -4.428314502382567,
        [
            [0.17792642771393377, 0.08449803742158649, 0.0505640786635058],
            [-0.13524927588979874, 0.07177666547238234, -0.08521332900783239],
            [0.04358408416692742, 0.10876603650326125, -0.0487808161968208],
            [0.13524927588979874, 0.07177666547238234, 0.08521332900783239],
            [0.1453544385394075, 0.09616555267141882, -0.09116058988217318],
            [-0.1057528348769462, 0.0783672570698663, 0.001452842166458787],
            [0.2053166787503039, 0.09889140291406165, -0.08078572167514042],
            [0.1057528348769462, 0.0783672570698663, -0.001452842166458787],
        ],
    ),
    "barlow": (
        0.43340912234087675,
        [
            [-0.005090419400334216, 0.03036319340387368, 0.008090556108114925],
            [1.0842021724855044e-18, 0.0347431625633988, -0.03443973729894499],
            [-0.04127575521601947, 0.033340021175722344, 0.006021531634366603],
            [-1.0842021724855044e-18, 0.0347431625633988, 0.03443973729894499],
            [0.005090419400334208, 0.03160561420073272, -0.038633761609687074],
            [-2.168404344971009e-19, 0.04018893690545636, 0.04693842262508605],
            [0.04127575521601948, 0.030442017713200403, 0.00900036997559896],
            [2.168404344971009e-19, 0.04018893690545636, -0.04693842262508605],
        ],
    ),
    "simclr": (
        5.7365774767135465,
        [
            [0.3696441877976831, 0.23544771137272036, 0.43724092161889416],
            [0.0011233941400253938, 0.24966608949299368, -0.44024092408065607],
            [-0.2629160602294054, 0.3574512889497559, 0.284459450969156],
            [-0.0011233941400253938, 0.24966608949299368, 0.44024092408065607],
            [-0.01953992397775208, 0.263730435860962, -0.43945564168314855],
            [0.4366929818409516, 0.29463817391384955, 0.23802437143746324],
            [0.18357160071652348, 0.259111503324463, 0.08780330875716963],
            [-0.4366929818409516, 0.29463817391384955, -0.23802437143746324],
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_tessl_losses_match_cessl_paired(name: str) -> None:
    """CESSL loss_{mmcr_momentum,barlow,simclr}_paired.py with equi_lmbda 0.4 (MMCR: lmbda 0;
    Barlow: lmbda 5e-3, scale 0.048; SimCLR: temperature 0.15)."""
    z = _paired_online()
    if name == "mmcr_momentum":
        got = _tessl_loss(z, MMCRLoss(), 0.4, [seeded((8, 8), 30 + k) for k in range(8)])
    else:
        loss = BarlowTwinsLoss(5e-3, 0.048) if name == "barlow" else NTXentLoss(0.15)
        got = _tessl_loss(z, loss, 0.4)
    got.backward()
    expected_loss, expected_grads = PAIRED[name]
    assert_golden(got.item(), expected_loss)
    for t, expected in zip(z, expected_grads, strict=True):
        assert_golden(summary(t.grad), expected)


@pytest.mark.parametrize(
    ("loss", "expected", "grads"),
    [
        (
            NTXentLoss(0.15),
            4.222294174481757,
            [
                [-0.864986817931177, 1.2554395066104016, 1.8665891300441217],
                [0.7041677095676657, 1.1714230230353, 1.6062041316981006],
            ],
        ),
        (
            BarlowTwinsLoss(5e-3, 0.048),
            0.41318896650126613,
            [
                [9.540979117872439e-18, 0.11477614353979175, 0.1537881243427086],
                [8.673617379884035e-19, 0.14631033574683355, 0.04499113887793359],
            ],
        ),
    ],
)
def test_invariance_losses_match_cessl(loss: nn.Module, expected: float, grads: list[list[float]]) -> None:
    """CESSL loss_simclr.py (temperature 0.15) and loss_barlow.py (lmbda 5e-3, scale 0.048)."""
    z = [seeded((8, 8), 50 + k).requires_grad_() for k in range(2)]
    got = loss(*z)
    got.backward()
    assert_golden(got.item(), expected)
    for t, g in zip(z, grads, strict=True):
        assert_golden(summary(t.grad), g)


def test_equimod_losses_match_released() -> None:
    """EquiMod src/loss.py NTXentLoss (both branches) and BYOLLoss (BYOL+EquiMod)."""
    y = seeded((24, 8), 81).requires_grad_()  # [y_a; y_b; yhat_a; yhat_b], 6 images
    got = equimod_loss(*y.split(6), temperature=0.2, negatives="released")
    got.backward()
    assert_golden(got.item(), 4.125456111073768)
    assert_golden(summary(y.grad), [0.3479553709765587, 0.8043071192626917, 1.4272243083261642])
    z = seeded((12, 8), 82).requires_grad_()
    got = NTXentLoss(0.5)(*z.split(6))
    got.backward()
    assert_golden(got.item(), 2.6367051909147805)
    assert_golden(summary(z.grad), [-0.18186592844493216, 0.41272285069741727, 0.3794751373805121])
    q, t = seeded((12, 8), 83).requires_grad_(), seeded((12, 8), 84)  # t[i] is the target of q[i]
    got = BYOLLoss()(torch.stack([q[:6], t[6:]], 1), torch.stack([q[6:], t[:6]], 1))
    got.backward()
    assert_golden(got.item(), 3.6570423350319547)
    assert_golden(summary(q.grad), [0.20710522001972126, 0.4658866270789475, -0.6545296605456971])


def test_equimod_strict_negatives_differ_from_released() -> None:
    y = seeded((24, 8), 81)
    assert abs(equimod_loss(*y.split(6), negatives="strict").item() - 4.125456111073768) > 1e-3


# ------------------------------------------------------------------------------ model level


def _images(seed: int, n: int = 4) -> Tensor:
    return seeded((n, 3, 16, 16), seed).requires_grad_()


def _tessl_model(name: str, options: dict) -> TeSSL:
    torch.manual_seed(0)
    method = build_method(name, options, build_backbone("resnet18"))
    model = TeSSL(method, 0.4, "image", bn_groups="halves").double()
    rules = [("method.backbone.", "f.", 0), ("method.target_backbone.", "mom_f.", 0)]
    for head, theirs in (("inv", "g_1."), ("equi", "g_2.")):
        rules += [
            (f"method.heads.{head}.projector.", theirs, 1),
            (f"method.heads.{head}.target_projector.", "mom_" + theirs, 1),
            (f"method.heads.{head}.", theirs, 1),
        ]
    fill(model, rules)
    return model


TESSL_PARAM_GRADS = {  # CE-SSL parameter name -> gradient summary
    "mmcr_momentum": {
        "f.conv1.weight": [-24.311239715481012, 20.758736202678183, 8.527613103248827],
        "f.layer4.1.bn2.weight": [-0.0350544987409029, 0.08285652695991592, -0.025862990022983284],
        "g_1.1.weight": [3.582062772296985, 2.926691528850837, 1.1591551641269837],
        "g_1.7.weight": [-1.0323431711464974, 0.9123747853066322, -0.022089757908712482],
        "g_2.1.weight": [3.0587839988393344, 1.378541497930397, 1.04481604339312],
        "g_2.7.weight": [-0.34554237927489295, 0.3123702627220628, -0.08968339174511147],
    },
    "barlow": {
        "f.conv1.weight": [-63.22455605526148, 115.221946685754, 179.15239925105868],
        "f.layer4.1.bn2.weight": [-0.3769444123014974, 0.4808184878284461, -0.6983727663768029],
        "g_1.1.weight": [28.23177383723528, 13.184731420963955, -4.754806935717671],
        "g_1.7.weight": [-2.2239127663032416, 1.9771465237081285, 0.5820311165824911],
        "g_2.1.weight": [7.862722002097665, 12.183038284583535, 4.371156437128869],
        "g_2.7.weight": [-2.793880729051258, 2.870938934168095, 2.710419857078584],
    },
    "simclr": {
        "f.conv1.weight": [-30.615696996328758, 104.16990044132086, 157.9545368568696],
        "f.layer4.1.bn2.weight": [-0.3448040010543323, 0.477282899096246, -0.7094777482019207],
        "g_1.1.weight": [12.73318610338749, 10.151685805002526, 2.7812056836822503],
        "g_1.7.weight": [-8.5751565600331, 1.5975201197268483, 0.23399082544845884],
        "g_2.1.weight": [5.0070518271145, 14.739940711129442, 7.289364944345574],
        "g_2.7.weight": [-1.7497388538257825, 2.3627991366666206, -1.7815403086229964],
    },
}
TESSL_MODELS = {  # name -> (our method, options, CE-SSL loss, grads of t0, t1, p0, p1)
    "mmcr_momentum": (
        "mmcr",
        {"projector": [64, 64, 32], "momentum_tau": 0.99},
        -2.9339113758337136,
        [
            [-0.7575520463522217, 1.157429575681882, 1.5587381737534132],
            [0.12186045665612869, 1.3509864221491856, -1.323236846058251],
            [-0.1151327012710599, 3.732517106239727, 0.20064612923174674],
            [-0.11435233037099135, 1.1295412615787663, 0.6433714898872951],
        ],
    ),
    "barlow": (
        "barlow_twins",
        {"projector": [64, 64, 32], "lambda_offdiag": 5e-3, "scale": 0.048},
        1.9410509256432324,
        [
            [-1.3031519618645733, 2.669415508816195, 1.1280121767831661],
            [-0.9188607489146101, 6.8247828193870035, -0.04569724875404946],
            [-0.43432016542506235, 2.567726144095915, -3.9904955463032596],
            [0.06731554228833803, 5.8588241531699135, 5.305769759133549],
        ],
    ),
    "simclr": (
        "simclr",
        {"projector": [64, 64, 32], "temperature": 0.15},
        2.685775838040685,
        [
            [-1.3195740402615386, 4.6372217971048, 6.44444358801289],
            [0.6139147421903779, 5.7194108805856185, 0.5526673647247268],
            [-1.00979339829077, 3.2551191955309426, -5.740526640634867],
            [0.658314224510884, 3.331038295622355, 1.8208237019013278],
        ],
    ),
}


def _ours(their_name: str, momentum: bool) -> str:
    """Our parameter name for a CE-SSL one (``f.*``, ``g_1.<i+1>.*``, ``g_2.<i+1>.*``)."""
    if their_name.startswith("f."):
        return "method.backbone." + their_name[2:]
    head, index, rest = their_name.split(".", 2)
    return (
        f"method.heads.{'inv' if head == 'g_1' else 'equi'}.{'projector.' if momentum else ''}{int(index) - 1}.{rest}"
    )


@pytest.mark.parametrize("key", sorted(TESSL_MODELS))
def test_tessl_model_matches_cessl_train_paired(key: str) -> None:
    """CESSL models_paired.py / models_momentum_paired.py + the paired losses, ResNet-18, projectors
    [64, 64, 32], equi_lmbda 0.4; the momentum network's weights differ from the online ones (a
    lagging target). Our TeSSL with bn_groups="halves" (one pass per half-view).

    Parameter gradients must match. Image gradients too, except with the momentum branch:
    CE-SSL runs it without ``no_grad`` (its parameters only are frozen), so with images that
    require a gradient (never the case in training) some flows back through it."""
    name, options, expected, grads = TESSL_MODELS[key]
    model = _tessl_model(name, options)
    t0, t1, p0, p1 = _images(61), _images(62), _images(63), _images(64)
    batch = Batch((torch.cat([t0, t1]), torch.cat([p0, p1])), (), None, torch.zeros(8, dtype=torch.long))
    out = model(batch)
    out.loss.backward()
    assert_golden(out.loss.item(), expected)
    params = dict(model.named_parameters())
    for their_name, g in TESSL_PARAM_GRADS[key].items():
        assert_golden(summary(params[_ours(their_name, key == "mmcr_momentum")].grad), g)
    if key != "mmcr_momentum":
        for x, g in zip((t0, t1, p0, p1), grads, strict=True):
            assert_golden(summary(x.grad), g)


def test_tessl_views_bn_groups_differ_from_cessl_halves() -> None:
    name, options, expected, _ = TESSL_MODELS["barlow"]
    model = _tessl_model(name, options)
    model.bn_groups = "views"
    batch = Batch(
        (torch.cat([_images(61), _images(62)]), torch.cat([_images(63), _images(64)])),
        (),
        None,
        torch.zeros(8, dtype=torch.long),
    )
    assert abs(model(batch).loss.item() - expected) > 1e-4


def test_mmcr_momentum_model_matches_cessl_models_momentum() -> None:
    """CESSL models_momentum.py MomentumModel (one call per view) + loss_mmcr_momentum.py, lmbda 0."""
    torch.manual_seed(0)
    model = build_method("mmcr", {"projector": [64, 64, 32], "momentum_tau": 0.99}, build_backbone("resnet18")).double()
    fill(
        model,
        [
            ("backbone.", "f.", 0),
            ("target_backbone.", "mom_f.", 0),
            ("heads.inv.projector.", "g.", 0),
            ("heads.inv.target_projector.", "mom_g.", 0),
        ],
    )
    x1, x2 = _images(71, 8), _images(72, 8)
    out = model(Batch((x1, x2), (), None, torch.zeros(8, dtype=torch.long)))
    out.loss.backward()
    assert_golden(out.loss.item(), -3.4059656119152897)
    params = dict(model.named_parameters())
    golden = {
        "f.conv1.weight": [3.9958376490648284, 6.059709413788416, 4.571390129538212],
        "f.layer4.1.bn2.weight": [-0.0649824795590447, 0.09714824474686938, -0.02002702061266646],
        "g.0.weight": [2.60663952725926, 3.5811835928933093, -0.20585359198018116],
        "g.6.weight": [-2.314378581931398, 1.5152890075221999, -2.1155907407974506],
    }
    ours = {
        "f.conv1.weight": "backbone.conv1.weight",
        "f.layer4.1.bn2.weight": "backbone.layer4.1.bn2.weight",
        "g.0.weight": "heads.inv.projector.0.weight",
        "g.6.weight": "heads.inv.projector.6.weight",
    }
    for their_name, g in golden.items():
        assert_golden(summary(params[ours[their_name]].grad), g)


def _equimod_model(branch: str) -> tuple[EquiMod, int]:
    torch.manual_seed(0)
    backbone = build_backbone("resnet18_cifar")
    if branch == "simclr":
        method = build_method("simclr", {"projector": [2048, 2048, 128], "temperature": 0.5, "last_bn": True}, backbone)
        columns = encoding_columns(get_policy("cifar", size=16), "released")
        inv = [("method.heads.inv.", "proj_head_inv.", 0)]
    else:
        method = build_method("byol", {"projector": [4096, 256], "predictor": [4096, 256], "tau_base": 0.996}, backbone)
        columns = encoding_columns(get_policy("byol_view1", size=16), "released")
        inv = [
            ("method.heads.inv.projector.", "proj_head_inv.", 0),
            ("method.heads.inv.predictor.", "predictor_inv.", 0),
            ("method.heads.inv.target_projector.", "proj_head_inv.", 0),
            ("method.target_backbone.", "resnet.", 0),
        ]
    encoder = EquiModEncoder(columns, torch.zeros(len(columns)), torch.ones(len(columns)))  # inputs given z-scored
    model = EquiMod(
        method, encoder, 1.0, EquiModOptions(projector=(2048, 2048, 128), aug_dim=128, temperature=0.2)
    ).double()
    fill(
        model,
        [
            ("method.backbone.", "resnet.", 0),
            ("equi_projector.", "proj_head_eq.", 0),
            ("aug_projector.", "proj_head_t.", 0),
            ("predictor.", "predictor_eq.", 0),
            *inv,
        ],
    )
    return model, len(columns)


EQUIMOD_MODELS = {  # branch -> loss_inv, loss_equi, loss, grad of [clean; a; b], yt_hat, yt
    "simclr": (
        2.104741822248881,
        2.603773737885077,
        4.708515560133958,
        [-0.12234470374049056, 0.47215107729077926, -0.6567221877281355],
        [1.9984014443252818e-15, 31.999718331148273, 29.436951451659283],
        [44.128772688267375, 31.836731578190154, -14.878620924719169],
    ),
    "byol": (
        2.7482367799885568,
        2.6705665969653434,
        5.4188033769539,
        [-0.06927258397978887, 0.3786373410572915, -0.32877077907799107],
        [-1.2601031329495527e-14, 31.99971717971587, -3.2184235063249957],
        [44.128772688267375, 31.836731578190154, -14.878620924719169],
    ),
}


@pytest.mark.parametrize("branch", sorted(EQUIMOD_MODELS))
def test_equimod_model_matches_released(branch: str) -> None:
    """EquiMod src/model.py + src/main.py train_repr (CIFAR ResNet-18, z_dim 128/256, y_dim 128,
    heads "2048-2048-", "128", "one"; temperatures 0.5 and 0.2; BYOL: target = online at step 0)
    with our defaults: released heads, joint batches, released negatives."""
    model, p_dim = _equimod_model(branch)
    n = 4
    x = seeded((3 * n, 3, 16, 16), 91).requires_grad_()
    p = seeded((2 * n, p_dim), 92)
    params = tuple(AugParams(rows, model.columns) for rows in p.split(n))
    out = model(Batch((x[n : 2 * n], x[2 * n :]), params, x[:n], torch.zeros(n, dtype=torch.long)))
    out.loss.backward()
    loss_inv, loss_equi, loss, grad, yt_hat, yt = EQUIMOD_MODELS[branch]
    assert_golden(
        [out.logs["loss_inv"].item(), out.logs["loss_equi"].item(), out.loss.item()], [loss_inv, loss_equi, loss]
    )
    assert_golden(summary(x.grad), grad)
    with torch.no_grad():  # the predictor's output itself, on the released joint batches
        y = model.equi_projector(model.backbone(x))
        assert_golden(summary(y[n:]), yt)
        assert_golden(summary(model.predict_encoded(torch.cat([y[:n], y[:n]]), p)), yt_hat)
