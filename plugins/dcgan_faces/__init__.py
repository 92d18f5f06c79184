"""The DCGAN paper's 64x64 RGB architecture, and its 128x128 extension, for faces."""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
image_size=64 (default, z=100, ngf=ndf=64):
G: z as 100x1x1 -> ConvT(k4 s1 p0) 512x4x4, BN, ReLU -> ConvT(k4 s2 p1) 256x8x8, BN, ReLU
   -> 128x16x16, BN, ReLU -> 64x32x32, BN, ReLU -> ConvT 3x64x64, Tanh
D: Conv(k4 s2 p1) 64x32x32, LeakyReLU(0.2) -> 128x16x16, BN, LReLU -> 256x8x8, BN, LReLU
   -> 512x4x4, BN, LReLU -> Conv(k4 s1 p0) 1x1x1 logit
image_size=128 (z=200): one more up/down block, G 1024x4x4 -> ... -> 3x128x128, D mirrored.
Init: conv weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0 (Radford et al. 2016)."""


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='utkface',
        dataset='image-folder',
        sha256='323004d9e4545d73d03de95440187feee50aca7b9b4955d812590d083e8fdca6',
        package='ganzoo_plugins.weights',
        filename='dcgan-faces.utkface.safetensors',
        config={'latent_dim': 100, 'image_size': 64, 'channels': 3, 'ngf': 64, 'ndf': 64},
        num_params=3576707,
        metrics={
            'fid': 0.5423,
            'kid_mean': 0.0001383,
            'kid_std': 0.0002011,
            'precision': 0.716,
            'recall': 0.5392,
        },
        recipe=(
            'ganzoo train dcgan-faces --data path/to/utkface --batch-size 64 --steps '
            '16000 --seed 0 --sample-every 500 --checkpoint-every 250 --quiet --out '
            'runs/dcgan-faces-w64\nganzoo train dcgan-faces --data path/to/utkface '
            "--steps 6000 --resume --data-license 'UTKFace: non-commercial research "
            "only' --quiet --out runs/dcgan-faces-w64"
        ),
        card='dcgan-faces.utkface.md',
        license='UTKFace: non-commercial research only',
        extra={
            'data': 'UTKFace',
            'seed': 0,
            'steps': 6000,
            'epochs': 19.231,
            'batch_size': 64,
            'train_time': '1 h 50 min',
            'hardware': 'AMD EPYC CPU, 2 cores (2 torch threads)',
            'storage': 'float16, generator EMA only',
            'extractor': 'random-conv',
            # the same weights in another feature space (tools/rescore_weights.py): never in the column above
            'metrics_by_extractor': {
                'faces-simclr': {'fid': 0.5228, 'kid_mean': 0.004235, 'kid_std': 0.001338, 'precision': 0.9166,
                                 'recall': 0.8134},
            },
        },
    ),
)


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="dcgan-faces",
            summary="DCGAN (Radford et al. 2016) for RGB faces at 64x64, or 128x128 with --option image_size=128.",
            generator="ganzoo_plugins.dcgan_faces.nets:DCGANGenerator",
            discriminator="ganzoo_plugins.dcgan_faces.nets:DCGANDiscriminator",
            config={"latent_dim": 100, "image_size": 64, "channels": 3, "ngf": 64, "ndf": 64},
            options={"image_size": (64, 128), "latent_dim": int, "ngf": int, "ndf": int},
            presets={"image_size=128": {"latent_dim": 200}},
            default_dataset="image-folder",
            datasets=("image-folder", "celeba"),
            sample_shapes=("3x64x64", "3x128x128"),
            default_loss="non-saturating",
            hyperparameters={"batch_size": 128, "lr": 2e-4, "betas": (0.5, 0.999)},
            weights=WEIGHTS,
            architecture=ARCHITECTURE,
            reference="Radford, Metz & Chintala, Unsupervised Representation Learning with DCGANs, ICLR 2016",
        )
    )
