"""What the methods share: Adam as they build it, the learning-rate schedule
and the simultaneous D/G update."""

from __future__ import annotations

import torch


def adam(params, lr: float, beta1: float, beta2: float, device: torch.device,
         fused: bool | None = None, capturable: bool = False, *,
         weight_decay: float = 0.0) -> torch.optim.Adam:
    # fused Adam is one kernel per step on CUDA; on CPU the default is right.
    # ``capturable`` keeps its step counters on the device, as CUDA graphs need.
    fused = device.type == "cuda" if fused is None else fused
    # weight_decay only when asked: the fused CPU kernel rejects an explicit 0.0 here
    extra = {"weight_decay": weight_decay} if weight_decay else {}
    opt = torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), fused=fused or None,
                           capturable=capturable, **extra)
    opt.register_load_state_dict_post_hook(_keep_implementation(opt))
    return opt


class AdamEpsInSqrt(torch.optim.Optimizer):
    """Adam as Salimans et al.'s released ``nn.adam_updates`` (improved-gan,
    mnist_svhn_cifar10/nn.py) computes it: p ← p − lr · m̂ / √(v̂ + ε), ε = 1e-8,
    with ε inside the square root; torch's Adam divides by √v̂ + ε. The two part
    where v̂ is tiny (rarely updated or near-constant parameters)."""

    def __init__(self, params, lr: float, betas: tuple[float, float], eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            (b1, b2), eps, lr = group["betas"], group["eps"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                t = state["step"]
                state["exp_avg"].lerp_(p.grad, 1 - b1)
                state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (state["exp_avg_sq"] / (1 - b2 ** t)).add_(eps).sqrt_()
                p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - b1 ** t))


def _keep_implementation(opt: torch.optim.Optimizer):
    """A checkpoint restores its writer's fused/capturable flags with the state; a
    resumed run keeps the implementation it was built with, its step counters
    where that implementation wants them (on the device for fused or
    capturable) and its moments in the parameters' memory format."""
    flags = {k: opt.param_groups[0][k] for k in ("fused", "capturable", "foreach")}
    on_device = bool(flags["fused"] or flags["capturable"])

    def hook(optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:
            group.update(flags)
            for p in group["params"]:
                state = optimizer.state.get(p, {})
                for key, value in state.items():
                    if key == "step" and torch.is_tensor(value):
                        state[key] = value.to(p.device if on_device else "cpu", torch.float32)
                    elif torch.is_tensor(value) and value.shape == p.shape:
                        # moments in the parameter's memory format (channels_last or not):
                        # fused and foreach kernels pair elements by memory position
                        state[key] = torch.empty_like(p).copy_(value)
    return hook


def linear_decay(base_lr: float, step: int, total: int, decay_steps: int) -> float:
    """``base_lr`` until the last ``decay_steps`` steps, then linearly down to 0
    (Salimans et al.'s schedule: lr · min(1, (total − step) / decay_steps))."""
    if decay_steps <= 0:
        return base_lr
    return base_lr * min(1.0, (total - step) / decay_steps)


def set_lr(optimizers, lr: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr


def simultaneous_update(loss_d: torch.Tensor, loss_g: torch.Tensor, disc_params, gen_params,
                        opt_d: torch.optim.Optimizer, opt_g: torch.optim.Optimizer) -> None:
    """One step of D and of the generators from the same forward pass (as the
    released ALI code): each loss differentiates only its own networks' parameters."""
    opt_d.zero_grad(set_to_none=True)
    opt_g.zero_grad(set_to_none=True)
    loss_d.backward(inputs=disc_params, retain_graph=True)
    loss_g.backward(inputs=gen_params)
    opt_d.step()
    opt_g.step()
