"""The network of the FID Inception: TensorFlow's Inception graph of 2015-12-05, as FID has always used it.

Published FIDs come from this one network: the original TensorFlow FID code loaded the graph
``inception-2015-12-05``; pytorch-fid and torch-fidelity ported its weights to PyTorch
(``pt_inception-2015-12-05-6726825d.pth``). It is Inception-v3 in outline, but three of its
blocks differ from torchvision's ImageNet Inception-v3 and a model written as that one gives
other features from the same weights:

* the 3x3 average pooling of the A, C and E blocks leaves the zero padding out of the average
  (TensorFlow's ``SAME`` pooling), i.e. ``count_include_pad=False``;
* the last E block (``Mixed_7c``) pools its fourth branch with a 3x3 *max* pooling, where the
  paper and torchvision average;
* the classifier has 1008 outputs (the graph's label set), not 1000, and no auxiliary head.

FID uses the 2048 values of the global average pooling after ``Mixed_7c``. The module and
parameter names are those of the weights file (``Conv2d_1a_3x3.conv.weight``,
``Mixed_7c.branch_pool.bn.running_var``, ...), so the file loads without renaming keys.
Only the architecture is here; the weights, their checks and the preprocessing are in
:mod:`ganzoo_plugins.extractors.fid_inception`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["FEATURE_DIM", "NUM_CLASSES", "FIDInceptionNet"]

FEATURE_DIM = 2048
NUM_CLASSES = 1008
BN_EPS = 0.001
"""TensorFlow's batch-norm epsilon in the 2015 graph."""


class Conv(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU: every convolution of the graph."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _same_average(x: torch.Tensor) -> torch.Tensor:
    """3x3 average with stride 1 over the unpadded neighbours only (TensorFlow's ``SAME`` average pooling)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BlockA(nn.Module):
    """35x35 block: 1x1, 5x5, double 3x3 and a pooled 1x1 branch."""

    def __init__(self, in_channels: int, pool_channels: int):
        super().__init__()
        self.branch1x1 = Conv(in_channels, 64, 1)
        self.branch5x5_1 = Conv(in_channels, 48, 1)
        self.branch5x5_2 = Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = Conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, 3, padding=1)
        self.branch_pool = Conv(in_channels, pool_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        five = self.branch5x5_2(self.branch5x5_1(x))
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), five, double, self.branch_pool(_same_average(x))], 1)


class ReductionB(nn.Module):
    """35x35 -> 17x17: a strided 3x3, a strided double 3x3 and a max pooling."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = Conv(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = Conv(in_channels, 64, 1)
        self.branch3x3dbl_2 = Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, F.max_pool2d(x, 3, stride=2)], 1)


class BlockC(nn.Module):
    """17x17 block: 1x1, factorised 7x7 (1x7 then 7x1), doubly factorised 7x7, pooled 1x1."""

    def __init__(self, in_channels: int, mid: int):
        super().__init__()
        row, column = ((1, 7), (0, 3)), ((7, 1), (3, 0))  # (kernel, padding) of a 1x7 and of a 7x1
        self.branch1x1 = Conv(in_channels, 192, 1)
        self.branch7x7_1 = Conv(in_channels, mid, 1)
        self.branch7x7_2 = Conv(mid, mid, row[0], padding=row[1])
        self.branch7x7_3 = Conv(mid, 192, column[0], padding=column[1])
        self.branch7x7dbl_1 = Conv(in_channels, mid, 1)
        self.branch7x7dbl_2 = Conv(mid, mid, column[0], padding=column[1])
        self.branch7x7dbl_3 = Conv(mid, mid, row[0], padding=row[1])
        self.branch7x7dbl_4 = Conv(mid, mid, column[0], padding=column[1])
        self.branch7x7dbl_5 = Conv(mid, 192, row[0], padding=row[1])
        self.branch_pool = Conv(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_same_average(x))], 1)


class ReductionD(nn.Module):
    """17x17 -> 8x8: a strided 3x3 after a 1x1, a strided 3x3 after a factorised 7x7, and a max pooling."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = Conv(in_channels, 192, 1)
        self.branch3x3_2 = Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = Conv(in_channels, 192, 1)
        self.branch7x7x3_2 = Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_2(self.branch3x3_1(x))
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([three, seven, F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(nn.Module):
    """8x8 block: 1x1, a 3x3 split into 1x3 and 3x1, a double 3x3 split likewise, pooled 1x1.

    ``max_pool``: the graph's last block pools its fourth branch with a max, not an average.
    """

    def __init__(self, in_channels: int, *, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Conv(in_channels, 320, 1)
        self.branch3x3_1 = Conv(in_channels, 384, 1)
        self.branch3x3_2a = Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Conv(in_channels, 448, 1)
        self.branch3x3dbl_2 = Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = Conv(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _same_average(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(three), self.branch3x3_2b(three),
            self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
            self.branch_pool(pooled),
        ], 1)


class FIDInceptionNet(nn.Module):
    """The FID Inception: ``(N, 3, 299, 299)`` inputs scaled to ``[-1, 1]`` -> ``(N, 2048)`` pool features."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = Conv(80, 192, 3)
        self.Mixed_5b = BlockA(192, 32)
        self.Mixed_5c = BlockA(256, 64)
        self.Mixed_5d = BlockA(288, 64)
        self.Mixed_6a = ReductionB(288)
        self.Mixed_6b = BlockC(768, 128)
        self.Mixed_6c = BlockC(768, 160)
        self.Mixed_6d = BlockC(768, 160)
        self.Mixed_6e = BlockC(768, 192)
        self.Mixed_7a = ReductionD(768)
        self.Mixed_7b = BlockE(1280, max_pool=False)
        self.Mixed_7c = BlockE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        """Part of the weights file (so it loads strictly); FID does not use the logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean((2, 3))
