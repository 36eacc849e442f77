"""Real data: a registry with sources and checksums, and loaders (see README, 'Data').

The names below are imported on first use (PEP 562): the registry is light, the loaders need torch.
"""

from neuroequi.lazy import lazy_exports

_LOADERS = (
    "CIFAR10_CLASSES",
    "COGGAN2024_REGIONS",
    "COWLEY2023_RELEASE",
    "COWLEY2023_TEST_SESSIONS",
    "Coggan2024",
    "CowleySession",
    "Kriegeskorte92",
    "cifar10",
    "coggan2024",
    "cowley2023_session",
    "cowley2023_sessions",
    "kriegeskorte92",
    "kriegeskorte92_subject_rdms",
    "pretrained_cifar_resnet",
)
_REGISTRY = (
    "SOURCES",
    "DataFile",
    "DataUnavailableError",
    "data_dir",
    "dataset_files",
    "fetch",
    "registered_files",
    "verify",
)

__all__ = sorted([*_LOADERS, *_REGISTRY])

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **{name: "neuroequi.data.loaders" for name in _LOADERS},
        **{name: "neuroequi.data.registry" for name in _REGISTRY},
    },
)
