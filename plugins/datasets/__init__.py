"""The built-in datasets: the MNIST family, CelebA, any image folder, and embedded 2-D toys."""

from __future__ import annotations

import ganzoo

MNIST_LICENSE = "CC BY-SA 3.0"


@ganzoo.hookimpl
def register_datasets(register):
    family = {
        "mnist": ("MNIST handwritten digits (LeCun et al.), 60k train / 10k test.", MNIST_LICENSE,
                  "http://yann.lecun.com/exdb/mnist/"),
        "fashion-mnist": ("Fashion-MNIST clothing (Xiao et al. 2017), 60k train / 10k test.", "MIT",
                          "https://github.com/zalandoresearch/fashion-mnist"),
        "kmnist": ("Kuzushiji-MNIST cursive Japanese (Clanuwat et al. 2018), 60k train / 10k test.",
                   "CC BY-SA 4.0", "https://github.com/rois-codh/kmnist"),
    }
    for name, (summary, licence, homepage) in family.items():
        register(
            ganzoo.DatasetSpec(
                name=name,
                summary=summary,
                loader=f"ganzoo_plugins.datasets.mnist_family:load_{name.replace('-', '_')}",
                sample_shape=(1, 28, 28),
                channels=1,
                num_classes=10,
                can_download=True,
                splits=("train", "test"),
                license=licence,
                homepage=homepage,
            )
        )
    register(
        ganzoo.DatasetSpec(
            name="celeba",
            summary="CelebA aligned celebrity faces (Liu et al. 2015), resized and centre-cropped.",
            loader="ganzoo_plugins.datasets.images:load_celeba",
            channels=3,
            can_download=True,
            splits=("train", "valid", "test"),
            license="non-commercial research only",
            homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        )
    )
    register(
        ganzoo.DatasetSpec(
            name="image-folder",
            summary="Any folder of images (torchvision ImageFolder layout), resized and centre-cropped; "
            "a LICENSE file at its top names the images' licence.",
            loader="ganzoo_plugins.datasets.images:load_image_folder",
            channels=3,
            license="unknown: the licence of your images",
        )
    )
    register(
        ganzoo.DatasetSpec(
            name="ring-8",
            summary="Eight Gaussians on a circle of radius 0.8 (std 0.02): a mode-collapse check, no download.",
            loader="ganzoo_plugins.datasets.toy2d:load_ring_8",
            sample_metrics="ganzoo_plugins.datasets.toy2d:mode_metrics",
            sample_shape=(2,),
            num_classes=8,
            embedded=True,
            splits=("train", "test"),
            license="generated",
        )
    )
    register(
        ganzoo.DatasetSpec(
            name="grid-25",
            summary="25 Gaussians on a 5x5 grid over [-0.8, 0.8]^2 (std 0.02): a harder mode check, no download.",
            loader="ganzoo_plugins.datasets.toy2d:load_grid_25",
            sample_metrics="ganzoo_plugins.datasets.toy2d:mode_metrics",
            sample_shape=(2,),
            num_classes=25,
            embedded=True,
            splits=("train", "test"),
            license="generated",
        )
    )
