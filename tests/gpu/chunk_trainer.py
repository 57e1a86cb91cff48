"""A trainer that writes its checkpoints slowly, in chunks, for `nexus gpu stop --at-checkpoint`.

Real process, no GPU. Each checkpoint takes about ``--chunks x --chunk-pause`` seconds to write,
then the run "trains" for ``--interval`` seconds. On SIGTERM/SIGUSR1 it writes ``signalled.json``
into ``--dir``: the signal, when it came, whether a checkpoint was being written at that moment,
and the last complete checkpoint with the time it was complete. ``log`` gets a line per finished
checkpoint. Layouts (``--layout``):

- ``chunks``: ``ckpt_stepN.pt`` written in place (open for writing the whole time);
- ``reopen``: the same, but the file is closed and reopened for each chunk (only the size
  settling tells when it is done);
- ``rename``: written to ``ckpt_stepN.pt.tmp`` and renamed into place (``torch.save`` to a temp);
- ``huggingface``: ``checkpoint-N/`` with two weight files, ``trainer_state.json`` last;
- ``deepspeed``: ``global_stepN/`` with two files, then the ``latest`` file names it.

``--hold FILE`` (``chunks`` layout): the second checkpoint stops after its first chunk until
``FILE`` exists, so that a test decides when it is still being written, whatever the load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

CHUNK = b"\1" * 65536
state: dict[str, object] = {"writing": False, "last": None, "last_at": None, "count": 0}


def _write_chunks(
    path: Path, chunks: int, pause: float, reopen: bool, hold: Path | None = None
) -> None:
    if reopen:
        for _ in range(chunks):
            with open(path, "ab") as fh:
                fh.write(CHUNK)
            time.sleep(pause)
        return
    with open(path, "wb") as fh:
        for _ in range(chunks):
            fh.write(CHUNK)
            fh.flush()
            while hold is not None and not hold.exists():
                time.sleep(0.02)
            time.sleep(pause)


def save(args: argparse.Namespace, step: int) -> str:
    d: Path = args.dir
    if args.layout in ("chunks", "reopen"):
        path = d / f"ckpt_step{step}.pt"
        hold = args.hold if step == 200 else None
        _write_chunks(path, args.chunks, args.chunk_pause, args.layout == "reopen", hold)
    elif args.layout == "rename":
        path = d / f"ckpt_step{step}.pt"
        tmp = d / f"ckpt_step{step}.pt.tmp"
        _write_chunks(tmp, args.chunks, args.chunk_pause, False)
        os.replace(tmp, path)
    elif args.layout == "huggingface":
        path = d / f"checkpoint-{step}"
        path.mkdir()
        _write_chunks(path / "model.safetensors", args.chunks, args.chunk_pause, False)
        time.sleep(args.chunk_pause * 3)  # the optimizer state is being gathered: all closed
        _write_chunks(path / "optimizer.pt", args.chunks, args.chunk_pause, False)
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    else:  # deepspeed
        path = d / f"global_step{step}"
        path.mkdir()
        _write_chunks(path / "mp_rank_00_model_states.pt", args.chunks, args.chunk_pause, False)
        time.sleep(args.chunk_pause * 3)
        _write_chunks(path / "zero_pp_rank_0_optim_states.pt", args.chunks, args.chunk_pause, False)
        (d / "latest").write_text(path.name)
    return path.name


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--layout", default="chunks")
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--chunk-pause", type=float, default=0.15)
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--hold", type=Path, help="the second checkpoint waits for this file")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    def stopped(signum: int, _frame: FrameType | None) -> None:
        record = {
            "signal": signal.Signals(signum).name,
            "time": time.time(),
            "mid_write": state["writing"],
            "last": state["last"],
            "last_at": state["last_at"],
            "count": state["count"],
        }
        (args.dir / "signalled.json").write_text(json.dumps(record))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGUSR1, stopped)
    step = 0
    while True:
        time.sleep(args.interval)  # "training"
        step += 100
        state["writing"] = True
        name = save(args, step)
        state.update(writing=False, last=name, last_at=time.time())
        state["count"] = int(str(state["count"])) + 1
        with open(args.dir / "log", "a") as fh:
            fh.write(f"{name} {state['last_at']}\n")


if __name__ == "__main__":
    sys.exit(main())
