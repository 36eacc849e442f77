"""Linear classification probe on frozen features: CIFAR-10 test accuracy.

The probe is a multinomial logistic regression (features z-scored with the
training images' statistics, L2 strength ``C``) fitted on the clean
responses of ``n_train`` CIFAR-10 training images and scored on ``n_test``
test images (random subsets drawn with ``seed``; all images when ``n`` is at
least the split's size). Quantity ``probe_accuracy``: the fraction of test
images classified correctly; interval: bootstrap over test images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analyses.measures import TableRow, bootstrap_counts, interval
from analyses.responses import extract_ensemble
from model_zoo import LoadedModel
from neuroequi.augment import Policy
from neuroequi.data import cifar10
from neuroequi.data.loaders import image_folder
from neuroequi.errors import ConfigError

__all__ = ["ProbeResult", "cifar10_subset", "dataset_subset", "imagefolder_subset", "linear_probe"]


def cifar10_subset(split: str, n: int, seed: int) -> tuple[list, np.ndarray, list[str]]:
    """``n`` random images of a CIFAR-10 split: PIL images, labels ``(n,)``, ids ``"<split>/<index>"``."""
    return dataset_subset(cifar10(split), split, n, seed)


def imagefolder_subset(root: str | Path, n: int, seed: int) -> tuple[list, np.ndarray, list[str]]:
    """``n`` random images of any ImageFolder tree (e.g. ImageNet validation), as for :func:`cifar10_subset`."""
    return dataset_subset(image_folder(root, "image folder"), Path(root).name, n, seed)


def dataset_subset(dataset, name: str, n: int, seed: int) -> tuple[list, np.ndarray, list[str]]:
    """``n`` images drawn without replacement by ``seed`` (sorted), labels and ids ``"<name>/<index>"``."""
    if n < 1:
        raise ConfigError(f"need at least 1 {name} image, got n={n}")
    order = np.random.default_rng(seed).permutation(len(dataset))[: min(n, len(dataset))]
    order.sort()
    labels = np.asarray(dataset.targets)[order]
    return [dataset[int(i)][0] for i in order], labels, [f"{name}/{i}" for i in order]


@dataclass(frozen=True)
class ProbeResult:
    """Test labels and the probe's predictions ``(n_test,)``; ``n_train`` training images."""

    labels: np.ndarray
    predictions: np.ndarray
    n_train: int
    layer: str

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.labels == self.predictions))

    def row(self, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> TableRow:
        correct = (self.labels == self.predictions).astype(np.float64)
        counts = bootstrap_counts(len(correct), n_boot, seed)
        low, high = interval(counts @ correct / counts.sum(axis=1), level)
        label = (
            f"CIFAR-10 test accuracy, logistic-regression probe on frozen {self.layer} "
            f"(trained on {self.n_train} images)"
        )
        return {
            "quantity": "probe_accuracy",
            "label": label,
            "value": self.accuracy,
            "ci_low": low,
            "ci_high": high,
            "n": len(correct),
        }


def linear_probe(
    model: LoadedModel,
    policy: Policy,
    n_train: int = 5000,
    n_test: int = 10000,
    C: float = 1.0,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    layer: str | None = None,
    **extract_options: object,
) -> ProbeResult:
    """Fit the probe on ``n_train`` training images and predict ``n_test`` test images.

    ``layer``: the module whose responses are probed (default: the model's last
    layer). ``policy`` only sets the clean view (whole image at the network's
    input size); ``extract_options`` go to :func:`analyses.responses.extract_ensemble`.
    """
    if not C > 0:
        raise ConfigError(f"C must be > 0, got {C}")
    layer = model.layer(layer)
    features = {}
    labels = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels[split], ids = cifar10_subset(split, n, seed)
        features[split] = extract_ensemble(
            model,
            images,
            policy,
            "clean",
            image_ids=ids,
            cache_dir=cache_dir,
            progress=progress,
            layer=layer,
            **extract_options,
        ).values
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    probe.fit(features["train"], labels["train"])
    return ProbeResult(labels["test"], probe.predict(features["test"]), len(labels["train"]), layer)
