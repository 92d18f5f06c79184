"""R3GAN (Huang et al., NeurIPS 2024): a modern baseline GAN, sized for a laptop CPU.

The model follows the paper's recipe: the relativistic pairing loss (``relativistic``) with R1 and R2
(``--r1-gamma``, ``--r2-gamma``), Adam with beta1 = 0, a generator EMA, and ResNets of inverted-bottleneck
blocks with grouped convolutions, no normalisation and zero-initialised residual branches (see
:mod:`.nets`). ``--option patch=2`` folds 2x2 pixels into channels at the image end of both networks, which
removes the full-resolution stage, the costliest on a CPU. 28x28 grey digits by default;
``--option image_size=64`` gives the 64x64 RGB faces layout.
"""

from __future__ import annotations

import ganzoo

ARCHITECTURE = """\
image_size=28 (default, z=64, widths 128,64,32, 1 block per stage, expansion 2, group_size 16):
G: z -> linear(64->128) scaling a learned 128x7x7 basis -> ResBlock [7x7] -> 1x1 conv 64, 2x up [14x14]
   -> ResBlock -> 1x1 conv 32, 2x up [28x28] -> ResBlock -> 1x1 conv 1, Tanh
D: 1x1 conv 32 [28x28] -> ResBlock -> 2x down, 1x1 conv 64 [14x14] -> ResBlock -> 2x down, 1x1 conv 128
   [7x7] -> ResBlock -> depthwise 7x7 conv (valid) -> linear(128->1) logit
ResBlock(C): x + conv1x1(2C->C)(LReLU(grouped conv3x3(2C->2C, 2C/16 groups)(LReLU(conv1x1(C->2C)(x)))))
image_size=64 (channels 3, widths 256,256,128,64,32): basis 4x4, four 2x stages to 64x64.
patch=p (ganzoo's, for CPUs; default 1): both networks work at image_size/p; G ends with a 1x1 conv to
   channels*p*p maps and a pixel shuffle, D starts with a pixel unshuffle (each pxp patch folded into channels).
Resampling: the fixed [1,2,1] low-pass filter, as depthwise (transposed) convolutions. No normalisation.
Init: last conv of each residual branch zero (each block starts as the identity); the others
N(0, (gain / sqrt(fan_in))^2) with the leaky ReLU's gain times (blocks in the network)^(-1/4)."""


# Written by tools/publish_weights.py from the run named in `recipe`; tests/test_zoo.py checks it.
WEIGHTS = (
    ganzoo.WeightsSpec(
        tag='mnist',
        dataset='mnist',
        sha256='a198d33858df3a564b578b24faa9e90391f64a547709394485c9cecb03ec87f8',
        package='ganzoo_plugins.weights',
        filename='r3gan.mnist.safetensors',
        config={
            'latent_dim': 64,
            'image_size': 28,
            'channels': 1,
            'widths': '96,48,16',
            'blocks': 1,
            'expansion': 1,
            'group_size': 16,
            'patch': 1,
        },
        num_params=63152,
        metrics={
            'fid': 5.517,
            'kid_mean': 0.924,
            'kid_std': 1.31,
            'precision': 0.8059,
            'recall': 0.7902,
            'classes_covered': 10,
            'class_tv': 0.0499,
            'class_kl': 0.006463,
        },
        recipe=(
            'ganzoo train r3gan --data path/to/data --seed 0 --threads 1 --batch-size '
            '32 --option widths=96,48,16 --option expansion=1 --lr 1e-3 --schedule '
            'lr=1e-3:2e-4:700000 --loss relativistic --r1-gamma 0.1 --r2-gamma 0.1 '
            '--reg-every 4 --ema 10000 --eval-every 2000 --sample-every 500 '
            '--checkpoint-every 500 --steps 22000 --quiet --out '
            'runs/r3gan-mnist\nganzoo train r3gan --resume --steps 21500 --data '
            'path/to/data --out runs/r3gan-mnist --quiet'
        ),
        card='r3gan.mnist.md',
        license='CC BY-SA 3.0',
        extra={
            'seed': 0,
            'steps': 21500,
            'epochs': 11.467,
            'batch_size': 32,
            'train_time': '50 min 34 s',
            'hardware': 'AMD EPYC CPU, 2 cores (1 torch thread)',
            'storage': 'float16, generator EMA only',
            'extractor': 'mnist-classifier',
        },
    ),
)


@ganzoo.hookimpl
def register_models(register):
    register(
        ganzoo.ModelSpec(
            name="r3gan",
            summary="R3GAN (Huang et al. 2024): RpGAN + R1/R2 with a modern ResNet; 28x28 grey or 64x64 RGB.",
            generator="ganzoo_plugins.r3gan.nets:R3Generator",
            discriminator="ganzoo_plugins.r3gan.nets:R3Discriminator",
            config={
                "latent_dim": 64,
                "image_size": 28,
                "channels": 1,
                "widths": "128,64,32",
                "blocks": 1,
                "expansion": 2,
                "group_size": 16,
                "patch": 1,
            },
            options={
                "image_size": (28, 64),
                "latent_dim": int,
                "widths": str,
                "blocks": int,
                "expansion": int,
                "group_size": int,
                "patch": (1, 2, 4),
            },
            # patch=2 and patch=4 leave fewer stages: widths that fit both image sizes unless widths are given
            presets={"image_size=64": {"channels": 3, "widths": "256,256,128,64,32"},
                     "patch=2": {"widths": "128,64"}, "patch=4": {"widths": "128"}},
            default_dataset="mnist",
            datasets=("mnist", "fashion-mnist", "kmnist", "image-folder", "celeba"),
            sample_shapes=("*x28x28", "*x64x64"),
            default_loss="relativistic",
            # R3GAN is RpGAN with both R1 and R2, the pairing its convergence argument rests on (the paper's
            # section 2); lazily every 4 steps, which saves most of their CPU cost. --r1-gamma 0 and so on override
            hyperparameters={"batch_size": 64, "lr": 2e-4, "betas": (0.0, 0.99), "r1_gamma": 0.1, "r2_gamma": 0.1,
                             "reg_every": 4},
            architecture=ARCHITECTURE,
            weights=WEIGHTS,
            reference=(
                "Huang, Gokaslan, Kuleshov & Tompkin, The GAN is dead; long live the GAN! "
                "A Modern GAN Baseline, NeurIPS 2024"
            ),
        )
    )
