"""Real data: a registry with sources and checksums, and loaders (see README, 'Data')."""

from neuroequi.data.loaders import (
    CIFAR10_CLASSES,
    COGGAN2024_REGIONS,
    COWLEY2023_RELEASE,
    COWLEY2023_TEST_SESSIONS,
    Coggan2024,
    CowleySession,
    Kriegeskorte92,
    cifar10,
    coggan2024,
    cowley2023_session,
    cowley2023_sessions,
    kriegeskorte92,
    kriegeskorte92_subject_rdms,
    pretrained_cifar_resnet,
)
from neuroequi.data.registry import (
    SOURCES,
    DataFile,
    DataUnavailableError,
    data_dir,
    dataset_files,
    fetch,
    registered_files,
    verify,
)

__all__ = [
    "CIFAR10_CLASSES", "COGGAN2024_REGIONS", "COWLEY2023_RELEASE", "COWLEY2023_TEST_SESSIONS",
    "SOURCES", "Coggan2024", "CowleySession", "DataFile", "DataUnavailableError", "Kriegeskorte92",
    "cifar10", "coggan2024", "cowley2023_session", "cowley2023_sessions", "data_dir", "dataset_files",
    "fetch", "kriegeskorte92", "kriegeskorte92_subject_rdms", "pretrained_cifar_resnet", "registered_files", "verify",
]
