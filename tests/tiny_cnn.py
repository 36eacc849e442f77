"""A tiny CNN for the tests of ``module:`` architectures (``--arch module:tiny_cnn:build``)."""

from torch import nn


class TinyCNN(nn.Module):
    """conv1 -> conv2 -> conv3 -> avgpool -> fc (8 -> 16 -> 16 channels)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.conv3 = nn.Sequential(nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.avgpool(self.conv3(self.conv2(self.conv1(x)))).flatten(1))


def build() -> nn.Module:
    """A randomly initialised :class:`TinyCNN` (about 3.6k parameters)."""
    return TinyCNN()
