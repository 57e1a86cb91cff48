"""A real (small) PyTorch training run for the GPU-marked tests.

Trains an MLP on synthetic data on ``cuda:0`` with DataLoader worker processes, and saves
``ckpt_epoch{E}_step{S}.pt`` into ``--dir`` every ``--every`` seconds. Writes ``ready`` once the
model is on the GPU and the first checkpoint exists.

    python torch_trainer.py --dir CKPTS [--workers 2] [--every 1.0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Synthetic(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    def __len__(self) -> int:
        return 10_000

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(i)
        return torch.randn(512, generator=g), torch.randint(0, 10, (), generator=g)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda:0")
    model = nn.Sequential(nn.Linear(512, 2048), nn.ReLU(), nn.Linear(2048, 10)).to(device)
    ballast = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device=device)  # 256 MiB held
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(
        Synthetic(), batch_size=64, num_workers=args.workers, persistent_workers=True
    )
    step, last_save = 0, 0.0
    for epoch in range(10_000):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if time.monotonic() - last_save >= args.every:
                path = args.dir / f"ckpt_epoch{epoch}_step{step}.pt"
                torch.save({"model": model.state_dict(), "step": step}, path)
                last_save = time.monotonic()
                (args.dir / "ready").write_text(str(ballast.numel()))


if __name__ == "__main__":
    main()
