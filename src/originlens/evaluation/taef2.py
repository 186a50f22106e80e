"""TAEF2, the tiny autoencoder for FLUX.2's latent space, rebuilt from its state-dict keys.

Used only by training scripts to make *content-aligned fakes*: a real crop encoded and decoded
again differs from its original only by a latent-diffusion decoder's traces (Rajan et al.,
ICLR 2025). The weights (MIT, ``madebyollin/taesd`` commit 5cccb12) live in
``../shared/models/taesd/``; they are never part of the served install. Needs torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

LATENT_CHANNELS = 32
WIDTH = 64


def _build() -> tuple[Any, Any]:
    import torch
    from torch import nn

    def conv(n_in: int, n_out: int, **kwargs: Any) -> nn.Conv2d:
        return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)

    class Clamp(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x / 3) * 3

    class Block(nn.Module):
        def __init__(self, n: int, pool: bool = False) -> None:
            super().__init__()
            self.conv = nn.Sequential(conv(n, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n))
            self.skip = nn.Identity()
            self.fuse = nn.ReLU()
            self.pool = (
                nn.Sequential(
                    nn.Conv2d(n, 4 * n, 1, bias=False),
                    nn.GroupNorm(4, 4 * n),
                    nn.ReLU(),
                    nn.Conv2d(4 * n, n, 1, bias=False),
                )
                if pool
                else None
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.pool is not None:
                x = x + self.pool(x)
            return self.fuse(self.conv(x) + self.skip(x))

    c = WIDTH
    encoder = nn.Sequential(
        conv(3, c), Block(c),
        conv(c, c, stride=2, bias=False), Block(c), Block(c), Block(c),
        conv(c, c, stride=2, bias=False), Block(c), Block(c), Block(c),
        conv(c, c, stride=2, bias=False), Block(c, True), Block(c, True), Block(c, True),
        conv(c, LATENT_CHANNELS),
    )  # fmt: skip
    decoder = nn.Sequential(
        Clamp(), conv(LATENT_CHANNELS, c), nn.ReLU(),
        Block(c, True), Block(c, True), Block(c, True), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        Block(c), Block(c), Block(c), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        Block(c), Block(c), Block(c), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        Block(c), conv(c, 3),
    )  # fmt: skip
    return encoder, decoder


class Taef2:
    """Encoder + decoder on the CPU; ``roundtrip`` gives the aligned fake of an RGB array."""

    def __init__(self, folder: Path) -> None:
        import torch

        self.encoder, self.decoder = _build()
        for part, module in (("encoder", self.encoder), ("decoder", self.decoder)):
            state = torch.load(folder / f"taef2_{part}.pth", map_location="cpu", weights_only=True)
            module.load_state_dict(state, strict=True)
            module.eval()

    def roundtrip(self, rgb: np.ndarray) -> np.ndarray:
        """``uint8 [H,W,3]`` (sides multiples of 8) through the latent space and back."""
        import torch

        x = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            y = self.decoder(self.encoder(x)).clamp(0, 1)
        out = y[0].permute(1, 2, 0).numpy()
        return np.asarray(np.round(out * 255.0), dtype=np.uint8)
