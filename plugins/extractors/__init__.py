"""Feature extractors for ganzoo's evaluation metrics (FID, KID, precision/recall, coverage)."""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_feature_extractors(register):
    register(
        ganzoo.ExtractorSpec(
            name="mnist-classifier",
            summary="Small CNN trained by ganzoo on MNIST train (>=99% test accuracy); penultimate-layer features.",
            builder="ganzoo_plugins.extractors.mnist_classifier:build",
            datasets=("mnist",),
            classifier=True,
        )
    )
    register(
        ganzoo.ExtractorSpec(
            name="inception-v3",
            summary="torchvision Inception-v3 pool features (2048-d); needs its weights in the torch hub cache.",
            builder="ganzoo_plugins.extractors.inception:build",
            datasets=(),
        )
    )
    register(
        ganzoo.ExtractorSpec(
            name="fid-inception",
            summary="The FID Inception of published FIDs (TF graph 2015-12-05, pytorch-fid's weights file); "
            "2048-d pool features; weights from --extractor-weights, torch's hub cache or --download.",
            builder="ganzoo_plugins.extractors.fid_inception:build",
            datasets=(),
        )
    )
    register(
        ganzoo.ExtractorSpec(
            name="faces-simclr",
            summary="Small CNN trained by ganzoo on UTKFace faces without labels (SimCLR); 256-d features of "
            "64x64 RGB: face-feature distances, not comparable with Inception FID.",
            builder="ganzoo_plugins.extractors.faces_simclr:build",
            datasets=(),
        )
    )
    register(
        ganzoo.ExtractorSpec(
            name="random-conv",
            summary="Fixed-seed random conv net (1024-d, any image size resized to 64): random-feature "
            "distances, not comparable with Inception FID.",
            builder="ganzoo_plugins.extractors.random_features:build",
            datasets=(),
        )
    )
