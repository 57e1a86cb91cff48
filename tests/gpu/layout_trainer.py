"""A small trainer that writes its checkpoints the way a framework does, then waits.

    python layout_trainer.py --layout lightning|huggingface|deepspeed|plain [--layout ...]
        [--count 3] [--interval 0.3] [--epochs 10] [--backend torch|pickle]
        [--dirpath D] [--output_dir D] [--save D] [--into D]

- lightning: ``lightning_logs/version_N/checkpoints/epoch=E-step=S.ckpt`` (``hparams.yaml`` beside
  it), or ``--dirpath D`` as ``ModelCheckpoint(dirpath=D)`` does; ``last.ckpt`` is a symlink to
  the newest (``save_last="link"``).
- huggingface: ``--output_dir D/checkpoint-STEP/`` written as ``tmp-checkpoint-STEP`` then renamed
  (as Trainer does), holding weights, optimizer, scheduler, RNG state and ``trainer_state.json``.
- deepspeed: ``--save D/global_stepN/`` with model and ZeRO optimizer states, then ``D/latest``.
- plain: ``model_epoch_E.pt`` by ``torch.save`` in the cwd (or ``--into D``).

The tensors are written with ``torch.save`` when ``--backend torch`` (a tiny linear model that
really trains a step between checkpoints), with ``pickle`` otherwise. When done it writes
``.layout_done`` in its cwd and sleeps until killed, so its process can be analysed.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS_PER_CHECKPOINT = 10


def saver(backend: str) -> tuple[Callable[[Any, Path], None], Callable[[], Any]]:
    """(save, train_one_round) for the backend: torch.save of a real model, or pickle."""
    if backend == "torch":
        import torch

        model = torch.nn.Linear(8, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)

        def train() -> Any:
            for _ in range(STEPS_PER_CHECKPOINT):
                opt.zero_grad()
                loss = model(torch.randn(4, 8)).pow(2).mean()
                loss.backward()
                opt.step()
            return {"model": model.state_dict(), "optimizer": opt.state_dict()}

        return (lambda obj, path: torch.save(obj, path)), train

    weights = {"weight": [0.0] * 16}

    def train_plain() -> Any:
        weights["weight"] = [w + 0.1 for w in weights["weight"]]
        return {"model": dict(weights), "optimizer": {"lr": 0.1}}

    def save_plain(obj: Any, path: Path) -> None:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh)

    return save_plain, train_plain


def lightning(
    args: argparse.Namespace, save: Callable[[Any, Path], None], state: Any, i: int
) -> None:
    if args.dirpath:
        folder = Path(args.dirpath)
    else:
        version = Path("lightning_logs") / "version_0"
        version.mkdir(parents=True, exist_ok=True)
        (version / "hparams.yaml").write_text("lr: 0.1\n")
        folder = version / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"epoch={i}-step={(i + 1) * STEPS_PER_CHECKPOINT}.ckpt"
    save({"state_dict": state["model"], "epoch": i, "global_step": (i + 1) * 10}, folder / name)
    last = folder / "last.ckpt"
    if last.is_symlink() or last.exists():
        last.unlink()
    last.symlink_to(name)


def huggingface(
    args: argparse.Namespace, save: Callable[[Any, Path], None], state: Any, i: int
) -> None:
    step = (i + 1) * STEPS_PER_CHECKPOINT
    out = Path(args.output_dir or "trainer_output")
    tmp = out / f"tmp-checkpoint-{step}"
    tmp.mkdir(parents=True, exist_ok=True)
    save(state["model"], tmp / "pytorch_model.bin")
    save(state["optimizer"], tmp / "optimizer.pt")
    save({"last_epoch": i}, tmp / "scheduler.pt")
    save({"python": 0}, tmp / "rng_state.pth")
    (tmp / "trainer_state.json").write_text(json.dumps({"global_step": step, "epoch": float(i)}))
    os.rename(tmp, out / f"checkpoint-{step}")
    (out / "runs").mkdir(exist_ok=True)


def deepspeed(
    args: argparse.Namespace, save: Callable[[Any, Path], None], state: Any, i: int
) -> None:
    step = (i + 1) * STEPS_PER_CHECKPOINT
    root = Path(args.save or "ds_checkpoints")
    tag = root / f"global_step{step}"
    tag.mkdir(parents=True, exist_ok=True)
    save({"module": state["model"]}, tag / "mp_rank_00_model_states.pt")
    save(
        {"optimizer_state_dict": state["optimizer"]},
        tag / "zero_pp_rank_0_mp_rank_00_optim_states.pt",
    )
    (root / "latest").write_text(f"global_step{step}")
    (root / "zero_to_fp32.py").write_text("# written by DeepSpeed\n")


def plain(args: argparse.Namespace, save: Callable[[Any, Path], None], state: Any, i: int) -> None:
    folder = Path(args.into or ".")
    folder.mkdir(parents=True, exist_ok=True)
    save(state, folder / f"model_epoch_{i}.pt")


WRITERS = {
    "lightning": lightning,
    "huggingface": huggingface,
    "deepspeed": deepspeed,
    "plain": plain,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layout", action="append", choices=sorted(WRITERS), required=True)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--backend", choices=("torch", "pickle"), default="pickle")
    parser.add_argument("--dirpath")
    parser.add_argument("--output_dir")
    parser.add_argument("--save")
    parser.add_argument("--into")
    args = parser.parse_args()
    save, train = saver(args.backend)
    for i in range(args.count):
        if i:
            time.sleep(args.interval)
        state = train()
        for layout in args.layout:
            WRITERS[layout](args, save, state, i)
    Path(".layout_done").write_text(str(time.time()))
    while True:
        time.sleep(60)


if __name__ == "__main__":
    sys.exit(main())
