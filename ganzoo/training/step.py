"""One adversarial step: ``d_steps`` discriminator updates, then one generator update.

Speed comes from what the step does not do: the fakes for D's update are drawn without
autograd; D's weights stop requiring gradients during G's update (their gradients there would
only be thrown away); without BatchNorm in D, real and fake batches go through D in one pass
(bigger matrix products, one weight gradient); gradients are dropped with ``set_to_none``; and
the metrics stay on the device (:mod:`.window`). With ``reuse_fakes`` the G update scores the
fakes of the last D update again (one G forward per step, the DCGAN tutorial's algorithm).

On several processes ``g_train`` and ``d_train`` are the DDP wrappers: each update's backward
pass goes through the wrapper of the network it steps on, and through the other one bare, so
each backward averages exactly the gradients its optimizer steps on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..models.device import Precision
from ..registry.loss_calls import generator_loss_takes_real_logits
from .parallel.compiling import CompiledNetworks
from .practices.augment import Augmenter
from .practices.ema import GeneratorEMA
from .practices.regularize import GradientPenalty
from .streams import BatchStream, NoiseStream

__all__ = ["AdversarialStep", "Optimisation", "clip_gradients", "fused_adam"]


def fused_adam(parameters: Any, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Fused Adam where this torch and device have it, else foreach (one kernel per group of tensors)."""
    parameters = list(parameters)
    if device.type in ("cuda", "cpu", "mps"):
        try:
            return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True)


def clip_gradients(optimizer: torch.optim.Optimizer, max_norm: float) -> None:
    """``--grad-clip``: scale the optimizer's gradients so that their global norm (all the network's parameters
    together, as ``torch.nn.utils.clip_grad_norm_``) is at most ``max_norm``; a smaller norm is left as it is."""
    parameters = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(parameters, max_norm)


class Optimisation:
    """One network's optimizer and gradient scaler: a backward pass and an update (``max_norm``: the gradients'
    global norm is clipped to it before the update, on the unscaled gradients; None: no clipping)."""

    def __init__(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, max_norm: float | None = None):
        self.optimizer = optimizer
        self.scaler = scaler
        self.max_norm = max_norm
        # the requested hyper-parameters win over saved ones: a resumed run may lower the learning rate
        self._requested = [(group["lr"], group["betas"]) for group in optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        for group, (lr, betas) in zip(self.optimizer.param_groups, self._requested, strict=True):
            group["lr"] = lr
            group["betas"] = betas
        if self.scaler.is_enabled() and state.get("scaler"):  # an fp32 or bf16 run saved no scale
            self.scaler.load_state_dict(state["scaler"])

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
            if self.max_norm is not None:  # clip what the update applies: the unscaled gradients
                self.scaler.unscale_(self.optimizer)
                clip_gradients(self.optimizer, self.max_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if self.max_norm is not None:
                clip_gradients(self.optimizer, self.max_norm)
            self.optimizer.step()


def _joined(real: torch.Tensor | None, fake: torch.Tensor | None) -> torch.Tensor | None:
    return None if real is None or fake is None else torch.cat([real, fake])


class AdversarialStep:
    """Called once per step; returns the step's metric row (:data:`.window.METRICS`) on the device.

    The training practices of today's strong code bases are parts of the step, each off unless asked
    for: ``augment`` (DiffAugment / ADA) changes every batch D sees, the fakes of G's update included;
    ``regularizer`` adds R1/R2 to D's loss on the steps it is due; ``ema`` moves the generator's average
    after G's update; a relativistic loss gets the current D's logits of the current real batch.
    """

    def __init__(
        self,
        *,
        generator: nn.Module,
        discriminator: nn.Module,
        g_train: nn.Module,
        d_train: nn.Module,
        loss: Any,
        g_update: Optimisation,
        d_update: Optimisation,
        precision: Precision,
        batches: BatchStream,
        noise: NoiseStream,
        reuse_fakes: bool,
        augment: Augmenter | None = None,
        regularizer: GradientPenalty | None = None,
        ema: GeneratorEMA | None = None,
        compiled: CompiledNetworks | None = None,
    ):
        self.G, self.D, self.G_train, self.D_train = generator, discriminator, g_train, d_train
        # --compile: the forward passes go through the compiled calls; the penalties' double backward through D
        self.compiled = compiled
        self.G_call, self.D_call = generator, discriminator
        if compiled is not None:
            self.G_call, self.D_call, self.G_train, self.D_train = compiled.calls()
        self.loss = loss
        self.d_steps = int(getattr(loss, "d_steps", 1))
        self.penalty = getattr(loss, "penalty", None)
        self.relativistic = generator_loss_takes_real_logits(loss)
        self.g_update, self.d_update = g_update, d_update
        self.precision = precision
        self.batches, self.noise = batches, noise
        self.reuse_fakes = reuse_fakes
        self.augment = augment
        self.regularizer = regularizer if regularizer is not None and regularizer.enabled else None
        self.ema = ema
        self.d_params = [p for p in discriminator.parameters() if p.requires_grad]
        # Without batch statistics in D, scoring real and fake batches together is the same function
        # as scoring them apart; with BatchNorm it is not (the classic recipe keeps the batches apart).
        self.joint_d = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules())

    @property
    def images(self) -> int:
        """Real images one step consumes over all ranks."""
        return self.batches.global_batch * self.d_steps

    def _seen(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch: the batch, or its augmentation."""
        return self.augment(x) if self.augment is not None else x

    def __call__(self, step: int) -> torch.Tensor:
        """Train step number ``step`` (0-based; the lazy regularizer's schedule counts it)."""
        G, D, G_train, D_train, loss = self.G_call, self.D_call, self.G_train, self.D_train, self.loss
        autocast = self.precision.autocast
        if self.compiled is not None:
            self.compiled.begin_step()
        for d_step in range(self.d_steps):
            real, real_labels = self.batches.next()
            z, fake_labels = self.noise.next(real.shape[0])
            # with reuse_fakes, the last D update's fakes keep their graph for the G update that follows
            fakes_for_g = None
            if self.reuse_fakes and d_step == self.d_steps - 1:
                with autocast():
                    fakes_for_g = G_train(z, fake_labels)
                fake = fakes_for_g.detach()
            else:
                with torch.no_grad(), autocast():
                    fake = G(z, fake_labels)
            with autocast():
                if self.joint_d:
                    both = self._seen(torch.cat([real, fake.to(real.dtype)]))
                    both = D_train(both, _joined(real_labels, fake_labels))
                    real_logits, fake_logits = both.reshape(-1).split(real.shape[0])
                else:
                    real_logits = D_train(self._seen(real), real_labels)
                    fake_logits = D_train(self._seen(fake), fake_labels)
                loss_d = loss.discriminator_loss(real_logits.float(), fake_logits.float())
                if self.penalty is not None:
                    loss_d = loss_d + self.penalty(self.D, real, fake, real_labels)
                if self.regularizer is not None and self.regularizer.due(step) and d_step == self.d_steps - 1:
                    loss_d = loss_d + self.regularizer(self.D, real, fake, real_labels, fake_labels, self.augment)
            self.d_update.step(loss_d)
            if self.augment is not None:
                self.augment.observe(real_logits)
        for parameter in self.d_params:
            parameter.requires_grad_(False)
        try:
            with autocast():
                if fakes_for_g is None:
                    z, fake_labels = self.noise.next(self.batches.batch_size)
                    fakes_for_g = G_train(z, fake_labels)
                fake_logits_g = D(self._seen(fakes_for_g), fake_labels)
                if self.relativistic:  # the updated D's view of the same real batch
                    with torch.no_grad():
                        real_logits_g = D(self._seen(real), real_labels)
                    loss_g = loss.generator_loss(fake_logits_g.float(), real_logits_g.float())
                else:
                    loss_g = loss.generator_loss(fake_logits_g.float())
            self.g_update.step(loss_g)
        finally:
            for parameter in self.d_params:
                parameter.requires_grad_(True)
        if self.ema is not None:
            self.ema.update(self.batches.global_batch)
        if self.augment is not None:
            self.augment.step_done(self.images)
        with torch.no_grad():
            return torch.stack(
                [
                    loss_d.detach().float(),
                    loss_g.detach().float(),
                    torch.sigmoid(real_logits.detach().float()).mean(),
                    torch.sigmoid(fake_logits.detach().float()).mean(),
                ]
            )
