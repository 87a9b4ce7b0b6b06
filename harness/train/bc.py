"""Behaviour cloning of the bundled policy, resumable, with optional perception aux heads.

Loss: cross-entropy of the shortest-path move under the 5-way marginal of the 15 logits
(so the head stays compatible with procgen's action space), plus a value regression
(discounted return ``10 * 0.999 ** (steps - 1)``: reward 10 arrives on the step that
reaches the cheese), plus -- during training only -- two 1x1-conv heads on block 2's
output that locate the mouse and the cheese in the 16 x 16 map. A pilot found the
bottleneck is perception (finding the ~2.5 px mouse); the aux heads give that a direct
gradient. They are not part of the saved policy.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from harness.policy.impala import ImpalaPolicy
from harness.policy.probs import log_probs5
from harness.train.data import (
    EVAL_SEED_BASE,
    BatchStream,
    Samples,
    StreamConfig,
    maze_samples,
    training_maze,
)

GAMMA = 0.999
REWARD = 10.0


class AuxHeads(nn.Module):
    """Mouse and cheese locators on block 2's 16 x 16 output (training-time only)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.locate = nn.Conv2d(channels, 2, kernel_size=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.locate(feats).flatten(2)  # (N, 2, 256)


@dataclass
class TrainConfig:
    run_dir: str
    total_samples: int = 4_000_000
    lr: float = 1e-3
    warmup_samples: int = 40_000
    final_lr_fraction: float = 0.03
    aux_weight: float = 0.5
    value_weight: float = 0.05
    threads: int = 2
    init_seed: int = 0
    checkpoint_every_s: float = 600.0
    eval_every_samples: int = 100_000
    eval_mazes: int = 48
    #: Keep a snapshot of the policy every this many samples (None: only policy.pth).
    keep_every: int | None = None
    stream: StreamConfig = field(default_factory=StreamConfig)

    @staticmethod
    def from_dict(d: dict) -> TrainConfig:
        d = dict(d)
        d["stream"] = StreamConfig(**d["stream"])
        return TrainConfig(**d)


def lr_at(cfg: TrainConfig, samples: int) -> float:
    if samples < cfg.warmup_samples:
        return cfg.lr * max(samples, 1) / cfg.warmup_samples
    t = min(1.0, (samples - cfg.warmup_samples) / max(1, cfg.total_samples - cfg.warmup_samples))
    lo = cfg.lr * cfg.final_lr_fraction
    return lo + 0.5 * (cfg.lr - lo) * (1 + math.cos(math.pi * t))


class Trainer:
    """Owns the model, aux heads, optimizer and stream position; saves/resumes all of them."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.dir = Path(cfg.run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.init_seed)
        self.model = ImpalaPolicy(scale=1).to(memory_format=torch.channels_last)
        self.aux = AuxHeads(self.model.embedder.block2.res2.conv2.out_channels)
        params = list(self.model.parameters()) + list(self.aux.parameters())
        self.opt = torch.optim.Adam(params, lr=cfg.lr)
        self.samples = 0
        self._next_keep: int | None = None
        self.chunk = 0
        self.batch_in_chunk = 0
        self._feats: torch.Tensor | None = None
        self.model.embedder.block2.register_forward_hook(self._grab)
        self._eval_set: Samples | None = None

    def _grab(self, _module, _inputs, output) -> None:  # a torch forward hook
        self._feats = output

    # ------------------------------------------------------------------ persistence
    @property
    def state_path(self) -> Path:
        return self.dir / "train_state.pt"

    def save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        torch.save(
            {
                "model": self.model.state_dict(),
                "aux": self.aux.state_dict(),
                "opt": self.opt.state_dict(),
                "samples": self.samples,
                "chunk": self.chunk,
                "batch_in_chunk": self.batch_in_chunk,
                "config": json.loads(json.dumps(asdict(self.cfg))),
            },
            tmp,
        )
        os.replace(tmp, self.state_path)

    def load(self) -> bool:
        if not self.state_path.exists():
            return False
        st = torch.load(self.state_path, weights_only=True)
        self.model.load_state_dict(st["model"])
        self.aux.load_state_dict(st["aux"])
        self.opt.load_state_dict(st["opt"])
        self.samples, self.chunk, self.batch_in_chunk = (
            st["samples"],
            st["chunk"],
            st["batch_in_chunk"],
        )
        return True

    def export(self, path: Path) -> None:
        """Write the policy alone, in Langosco's checkpoint format, and beside it the
        training progress (``<file>.json``), which sweeps and dashboards order by."""
        sd = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        tmp = Path(str(path) + ".tmp")
        torch.save({"model_state_dict": sd}, tmp)
        os.replace(tmp, path)
        write_progress(path, self.samples, self.cfg.total_samples)

    def _start_snapshots(self) -> int | None:
        """The sample count of the next snapshot (``--keep-every``); at 0 the untrained policy
        is kept, where every mechanism starts."""
        keep = self.cfg.keep_every
        if keep is None:
            return None
        if self.samples == 0:
            self.keep_snapshot()
        return (self.samples // keep + 1) * keep

    def _keep_if_due(self) -> None:
        keep, due = self.cfg.keep_every, self._next_keep
        if keep is not None and due is not None and self.samples >= due:
            self.keep_snapshot()
            self._next_keep = due + keep

    def keep_snapshot(self) -> Path:
        """The policy at this point of training, kept under ``snapshots/`` (``--keep-every``)."""
        folder = self.dir / "snapshots"
        folder.mkdir(exist_ok=True)
        path = folder / f"policy-{self.samples:09d}.pth"
        self.export(path)
        return path

    # ------------------------------------------------------------------ steps
    def _losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        obs = batch["obs"].permute(0, 3, 1, 2).float().div_(255.0)
        logits, value = self.model(obs)
        lp5 = log_probs5(logits)
        move = batch["move"]
        out = {"policy": F.nll_loss(lp5, move), "acc": (lp5.argmax(1) == move).float().mean()}
        target_v = REWARD * GAMMA ** (batch["steps"].float() - 1)
        out["value"] = F.mse_loss(value, target_v)
        aux = self.aux(self._feats)
        out["aux_mouse"] = F.cross_entropy(aux[:, 0], batch["mouse_cell"])
        out["aux_cheese"] = F.cross_entropy(aux[:, 1], batch["cheese_cell"])
        out["aux_mouse_acc"] = (aux[:, 0].argmax(1) == batch["mouse_cell"]).float().mean()
        out["loss"] = (
            out["policy"]
            + self.cfg.value_weight * out["value"]
            + self.cfg.aux_weight * (out["aux_mouse"] + out["aux_cheese"])
        )
        return out

    def eval_set(self) -> Samples:
        if self._eval_set is None:
            s = self.cfg.stream
            parts = [
                maze_samples(training_maze(EVAL_SEED_BASE + i, s.data_seed), facing_seed=1)
                for i in range(self.cfg.eval_mazes)
            ]
            self._eval_set = Samples.concat(parts)
        return self._eval_set

    @torch.inference_mode()
    def evaluate(self) -> dict[str, float]:
        data = self.eval_set()
        self.model.eval()
        correct = np.zeros(len(data), bool)
        for i in range(0, len(data), 512):
            obs = torch.from_numpy(data.obs[i : i + 512]).permute(0, 3, 1, 2).float().div_(255.0)
            logits, _ = self.model(obs)
            correct[i : i + 512] = log_probs5(logits).argmax(1).numpy() == data.move[i : i + 512]
        self.model.train()
        out = {"heldout_acc": float(correct.mean())}
        for lo, hi in ((3, 7), (9, 13), (15, 19), (21, 25)):
            sel = (data.size >= lo) & (data.size <= hi)
            if sel.any():
                out[f"heldout_acc_{lo}-{hi}"] = float(correct[sel].mean())
        return out

    def run(self, max_seconds: float | None = None, stop_at_samples: int | None = None) -> None:
        cfg = self.cfg
        torch.set_num_threads(cfg.threads)
        resumed = self.load()
        log = (self.dir / "log.jsonl").open("a")
        log.write(
            json.dumps(
                {
                    "event": "start",
                    "resumed": resumed,
                    "samples": self.samples,
                    "config": asdict(cfg),
                }
            )
            + "\n"
        )
        loader = torch.utils.data.DataLoader(
            BatchStream(cfg.stream, self.chunk, self.batch_in_chunk),
            batch_size=None,
            num_workers=1,
            prefetch_factor=8,
            persistent_workers=False,
        )
        bar = tqdm(total=cfg.total_samples, initial=self.samples, unit="sample", smoothing=0.05)
        t_start = t_ckpt = time.time()
        next_eval = (self.samples // cfg.eval_every_samples + 1) * cfg.eval_every_samples
        self._next_keep = self._start_snapshots()
        window: dict[str, list[float]] = {}
        win_t, win_n = time.time(), 0
        self.model.train()
        for chunk, b, batch in loader:
            if self.samples >= min(cfg.total_samples, stop_at_samples or cfg.total_samples):
                break
            for g in self.opt.param_groups:
                g["lr"] = lr_at(cfg, self.samples)
            out = self._losses(batch)
            self.opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            self.opt.step()
            n = len(batch["move"])
            self.samples += n
            self.chunk, self.batch_in_chunk = chunk, b + 1
            bar.update(n)
            win_n += n
            for k, v in out.items():
                window.setdefault(k, []).append(v.item())
            if len(window["loss"]) >= 100:
                rec = {k: float(np.mean(v)) for k, v in window.items()}
                rec.update(
                    samples=self.samples,
                    lr=lr_at(cfg, self.samples),
                    samples_per_s=win_n / (time.time() - win_t),
                    chunk=chunk,
                )
                log.write(json.dumps(rec) + "\n")
                log.flush()
                bar.set_postfix(
                    loss=f"{rec['loss']:.3f}",
                    acc=f"{rec['acc']:.3f}",
                    mouse=f"{rec['aux_mouse_acc']:.2f}",
                )
                window, win_t, win_n = {}, time.time(), 0
            if self.samples >= next_eval:
                rec = {"event": "eval", "samples": self.samples, **self.evaluate()}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                next_eval += cfg.eval_every_samples
            self._keep_if_due()
            now = time.time()
            if now - t_ckpt > cfg.checkpoint_every_s:
                self.save()
                self.export(self.dir / "policy.pth")
                t_ckpt = now
            if max_seconds is not None and now - t_start > max_seconds:
                break
        bar.close()
        self.save()
        self.export(self.dir / "policy.pth")
        log.write(json.dumps({"event": "stop", "samples": self.samples, **self.evaluate()}) + "\n")
        log.close()


PROGRESS_FORMAT = "maze-claims/training-progress"


def progress_path(checkpoint: Path) -> Path:
    """The sidecar that states how far training had got when ``checkpoint`` was written."""
    return Path(str(checkpoint) + ".json")


def write_progress(checkpoint: Path, samples: int, total_samples: int) -> None:
    data = {"format": PROGRESS_FORMAT, "samples_seen": int(samples), "total_samples": total_samples}
    tmp = Path(str(progress_path(checkpoint)) + ".tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, progress_path(checkpoint))


def train(
    cfg: TrainConfig, max_seconds: float | None = None, stop_at_samples: int | None = None
) -> Trainer:
    t = Trainer(cfg)
    t.run(max_seconds, stop_at_samples)
    return t


def config_with(cfg: TrainConfig, **changes) -> TrainConfig:
    return replace(cfg, **changes)
