"""``fid-inception``: the FID Inception of the literature, fed the way the reference tools feed it.

A FID is comparable with a published one only when three things match: the network and its
weights (TensorFlow's Inception of 2015-12-05, :mod:`.fid_inception_net`), the pixels it is
given (8-bit images: a generator's ``[-1, 1]`` output is quantised to 0..255 first, as
StyleGAN2-ADA and torch-fidelity do with ``x * 127.5 + 128`` clamped and truncated), and the
resize to 299x299. Three resizes are offered, each the one a reference tool uses, because
they give different FIDs (Parmar et al., "On Aliased Resizing and Surprising Subtleties in
GAN Evaluation", 2022):

* ``tf1`` (default): TensorFlow 1's bilinear resize (no half-pixel offset, no antialiasing),
  then ``(x - 128) / 128``: what the original TF FID code, StyleGAN2-ADA and torch-fidelity
  compute;
* ``pytorch-fid``: ``x / 255``, torch's bilinear ``interpolate`` (``align_corners=False``),
  then ``2x - 1``: what ``python -m pytorch_fid`` computes on image files, so scores against
  pytorch-fid's published ``.npz`` statistics match;
* ``clean``: clean-fid's "clean" resize, PIL's bicubic filter on each channel as 32-bit
  floats, clipped to ``[0, 255]``, then ``(x - 128) / 128``.

Grey images are repeated to three channels after quantisation. Every choice is written into
``input_note``, which goes into the evaluation protocol and the model card.

The weights (``pt_inception-2015-12-05-6726825d.pth``, about 91 MB, from pytorch-fid's
release) are never downloaded as a side effect. They are taken from ``weights_path``
(``ganzoo eval --extractor-weights PATH``), else from torch's hub cache
(``$TORCH_HOME/hub/checkpoints/``, where pytorch-fid and torch-fidelity keep their copies),
else downloaded into that cache when ``download=True`` (``--download``). Whatever the file
came from, its sha256 must begin with the ``6726825d`` its official name carries (torch.hub's
convention), it must be a regular file of bounded size, it is unpickled only by
``torch.load(weights_only=True)`` (tensors and plain containers, never code), and its names,
shapes and values are checked against the network before they are loaded. Anything else is
one line; there is no fallback to another extractor.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from ganzoo.errors import ConfigError, WeightsError
from ganzoo.plugin_api import file_sha256

from .fid_inception_net import FEATURE_DIM, FIDInceptionNet

__all__ = [
    "INPUT_SIZE",
    "RESIZES",
    "SHA256_PREFIX",
    "WEIGHTS_URL",
    "FIDInceptionExtractor",
    "build",
    "hub_paths",
    "load_weights",
    "quantise",
    "resize_tf1",
]

INPUT_SIZE = 299
WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
WEIGHTS_FILENAME = WEIGHTS_URL.rsplit("/", 1)[1]
HUB_NAMES = (WEIGHTS_FILENAME, "weights-inception-2015-12-05-6726825d.pth")
"""Names the file has in torch's hub cache: pytorch-fid's download, torch-fidelity's (the same weights)."""
SHA256_PREFIX = re.search(r"-([0-9a-f]{8,})\.", WEIGHTS_FILENAME).group(1)  # type: ignore[union-attr]
"""The start of the file's sha256, as its name carries it (torch.hub's convention)."""
MAX_WEIGHTS_BYTES = 160 << 20
"""Largest file read as these weights (the real one is about 91 MB)."""

RESIZES = {
    "tf1": "TensorFlow-1 bilinear (torch-fidelity, StyleGAN2-ADA, the original TF FID), then (x-128)/128",
    "pytorch-fid": "x/255, torch bilinear interpolate (align_corners=False), then 2x-1 (pytorch-fid)",
    "clean": "PIL bicubic per channel on float pixels, clipped to [0, 255] (clean-fid 'clean'), then (x-128)/128",
}


def hub_paths() -> list[Path]:
    """Where torch's hub cache keeps the weights under each of their names (whether or not they are there)."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return [folder / name for name in HUB_NAMES]


def _where_to_get() -> str:
    return (
        f"put {WEIGHTS_FILENAME} at {hub_paths()[0]} or pass --extractor-weights PATH (get it from {WEIGHTS_URL}), "
        "or run with --download on a machine with internet"
    )


def _check_file(path: Path) -> str:
    """The sha256 of ``path`` once it is a regular file of bounded size whose digest has the expected start."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise WeightsError(
            f"fid-inception weights {path} cannot be read ({error.strerror}); {_where_to_get()}"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise WeightsError(f"fid-inception weights {path} is not a regular file; {_where_to_get()}")
    if info.st_size > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"fid-inception weights {path} is {info.st_size:,} bytes, more than the {MAX_WEIGHTS_BYTES:,} of the "
            f"FID Inception file: it is another file; {_where_to_get()}"
        )
    digest = file_sha256(path)
    if not digest.startswith(SHA256_PREFIX):
        raise WeightsError(
            f"fid-inception weights {path} have sha256 {digest[:16]}..., not the {SHA256_PREFIX}... of "
            f"{WEIGHTS_FILENAME}: refusing another file; get the right one from {WEIGHTS_URL}"
        )
    return digest


def _state_dict(path: Path, net: FIDInceptionNet) -> dict[str, torch.Tensor]:
    """The file's tensors, unpickled without code and checked name by name against ``net``."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # weights_only refuses code; a damaged file fails to unpickle
        raise WeightsError(
            f"fid-inception weights {path} cannot be read as tensors ({type(error).__name__}); delete the file "
            f"and fetch it again from {WEIGHTS_URL}"
        ) from None
    if not isinstance(loaded, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise WeightsError(f"fid-inception weights {path} are not a state dict of named tensors")
    expected = net.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}  # older files do not carry them
    missing = sorted(set(expected) - set(loaded) - optional)
    unexpected = sorted(set(loaded) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"fid-inception weights {path} do not fit the FID Inception: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]} ({len(missing)} and {len(unexpected)} in all)"
        )
    state = {}
    for name, target in expected.items():
        value = loaded.get(name, target)
        if tuple(value.shape) != tuple(target.shape):
            raise WeightsError(
                f"fid-inception weights {path}: {name} has shape {tuple(value.shape)}, "
                f"the network {tuple(target.shape)}"
            )
        if target.is_floating_point() and not (value.is_floating_point() and torch.isfinite(value).all()):
            raise WeightsError(f"fid-inception weights {path}: {name} is not a tensor of finite floats")
        state[name] = value.to(target.dtype)
    return state


def load_weights(path: str | os.PathLike[str], net: FIDInceptionNet | None = None) -> tuple[FIDInceptionNet, str]:
    """``net`` (a new one by default) with the weights at ``path``, after every check; and the file's sha256."""
    path = Path(path).expanduser()
    digest = _check_file(path)
    net = net or FIDInceptionNet()
    net.load_state_dict(_state_dict(path, net), strict=True)
    return net.eval().requires_grad_(False), digest


def _find_weights(weights_path: str | os.PathLike[str] | None, download: bool) -> Path:
    """The file to load: the one named, else the hub cache's, else (``download``) a fresh download into the cache."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.exists():
            raise WeightsError(f"fid-inception weights {path} do not exist; {_where_to_get()}")
        return path
    for path in hub_paths():
        if path.exists():
            return path
    if not download:
        raise WeightsError(f"fid-inception weights are not in torch's hub cache; {_where_to_get()}")
    destination = hub_paths()[0]
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:  # torch.hub writes to a temporary name and renames it only once the sha256 prefix matched
        torch.hub.download_url_to_file(WEIGHTS_URL, str(destination), hash_prefix=SHA256_PREFIX, progress=True)
    except Exception as error:
        raise WeightsError(
            f"cannot download the fid-inception weights from {WEIGHTS_URL} ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); {_where_to_get()}"
        ) from None
    return destination


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Images in ``[-1, 1]`` as the 8-bit values 0..255 (float32): ``x * 127.5 + 128`` clamped and truncated.

    StyleGAN2-ADA and torch-fidelity turn generated images into uint8 this way before their
    Inception; real uint8 pixels mapped to ``[-1, 1]`` (``ganzoo.nn.uint8_to_unit``) come back
    exactly, so real and generated images reach the network as the same kind of pixels.
    """
    return (x.float() * 127.5 + 128).clamp_(0, 255).floor_()


def _axis(size_in: int, size_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TensorFlow 1's source positions ``i * in/out`` (float32): lower index, upper index, fraction."""
    position = torch.arange(size_out, dtype=torch.float32, device=device) * torch.tensor(
        size_in / size_out, dtype=torch.float32, device=device
    )
    low = position.floor().long()
    high = (low + 1).clamp_max(size_in - 1)
    return low, high, position - low.float()


def resize_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1's ``resize_bilinear`` (``align_corners=False``, no half-pixel centres) of ``(N, C, H, W)``.

    Output pixel ``i`` reads the input at ``i * H / size`` (no half-pixel offset) and interpolates
    linearly between its two neighbours, the upper one clamped to the edge; rows then columns,
    as TensorFlow computes it (``top + (bottom - top) * dy`` of two horizontal interpolations).
    """
    rows_low, rows_high, dy = _axis(x.shape[-2], size, x.device)
    cols_low, cols_high, dx = _axis(x.shape[-1], size, x.device)
    top, bottom = x.index_select(-2, rows_low), x.index_select(-2, rows_high)
    dx = dx.view(1, 1, 1, size)
    top = top.index_select(-1, cols_low) + (top.index_select(-1, cols_high) - top.index_select(-1, cols_low)) * dx
    bottom = (
        bottom.index_select(-1, cols_low)
        + (bottom.index_select(-1, cols_high) - bottom.index_select(-1, cols_low)) * dx
    )
    return top + (bottom - top) * dy.view(1, 1, size, 1)


def _resize_clean(x: torch.Tensor, size: int) -> torch.Tensor:
    """clean-fid's resize: each channel as a 32-bit float PIL image, bicubic, clipped to ``[0, 255]``."""
    import numpy as np
    from PIL import Image

    pixels = x.detach().to("cpu", torch.float32).numpy()
    out = np.empty((*pixels.shape[:2], size, size), dtype=np.float32)
    for i, image in enumerate(pixels):
        for c, channel in enumerate(image):
            resized = Image.fromarray(channel, mode="F").resize((size, size), resample=Image.Resampling.BICUBIC)
            out[i, c] = np.asarray(resized).clip(0, 255)
    return torch.from_numpy(out).to(x.device)


def prepare(x: torch.Tensor, resize: str) -> torch.Tensor:
    """Images ``(N, 1 or 3, H, W)`` in ``[-1, 1]`` as the network's input ``(N, 3, 299, 299)``, the ``resize`` way."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ConfigError(f"fid-inception takes images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    pixels = quantise(x).expand(-1, 3, -1, -1)
    resized = tuple(pixels.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE)
    if resize == "pytorch-fid":
        unit = pixels / 255
        if resized:
            unit = F.interpolate(unit, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return 2 * unit - 1
    if resized:
        pixels = resize_tf1(pixels, INPUT_SIZE) if resize == "tf1" else _resize_clean(pixels, INPUT_SIZE)
    return (pixels - 128) / 128


class FIDInceptionExtractor:
    """Maps ``[-1, 1]`` images of any size to the FID Inception's 2048 pool features."""

    name = "fid-inception"
    feature_dim = FEATURE_DIM

    def __init__(self, net: FIDInceptionNet, weights_sha256: str, device: Any, resize: str = "tf1"):
        if resize not in RESIZES:
            raise ConfigError(f"fid-inception resize must be one of {', '.join(RESIZES)}; got {resize!r}")
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.weights_sha256 = weights_sha256
        self.resize = resize
        self.input_note = (
            f"quantised to uint8 (x*127.5+128, clamped, truncated), grey repeated to RGB, resized to "
            f"{INPUT_SIZE}x{INPUT_SIZE} by '{resize}': {RESIZES[resize]}; FID Inception 2015-12-05 "
            f"({WEIGHTS_FILENAME}), 2048-d pool features"
        )

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return prepare(x.to(self.device), self.resize)

    @torch.inference_mode()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(self.prepare(x)), None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract(x)[0]


def build(
    device: str = "cpu",
    weights_path: str | os.PathLike[str] | None = None,
    download: bool = False,
    resize: str = "tf1",
) -> FIDInceptionExtractor:
    """The FID Inception on ``device`` with checked weights (see the module's docstring for where from)."""
    if resize not in RESIZES:
        raise ConfigError(f"--extractor-resize must be one of {', '.join(RESIZES)}; got {resize!r}")
    net, digest = load_weights(_find_weights(weights_path, download))
    return FIDInceptionExtractor(net, digest, device, resize)
