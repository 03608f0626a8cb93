"""What a person watching a run sees: one progress bar per run over its epochs (tqdm's
widget in JupyterLab, text in a terminal), or one line per epoch in logs, or nothing."""
from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

from recur.forms import FORMS


def interactive() -> bool:
    """Is a person watching: a terminal, or a notebook kernel started by a Jupyter server
    (it sets ``JPY_SESSION_NAME``; papermill, nbval and CI do not)?"""
    return sys.stderr.isatty() or "JPY_SESSION_NAME" in os.environ


class Progress:
    """``bar``: one tqdm bar over a run's epochs with its loss and training accuracy;
    ``lines``: one line per epoch through ``log``; ``none``: silent.  ``show=False``
    silences it (DDP ranks other than 0)."""

    def __init__(self, config, mode: str, log=print, *, done: int = 0, show: bool = True):
        self.config, self.mode, self.log, self.bar = config, mode if show else "none", log, None
        if self.mode == "bar":
            self.bar = tqdm(total=config.epochs, initial=done, unit="epoch",
                            desc=f"{config.family} {FORMS[config.recurrent]} depth "
                                 f"{config.depth} seed {config.seed}")

    def epoch(self, h: dict) -> None:
        """After an epoch: ``h`` is its history entry."""
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{h['loss']:.4f}", train_acc=f"{h['train_acc']:.1f}%")
            self.bar.update(1)
        elif self.mode == "lines":
            self.log(f"[recur] {self.config.name()} epoch {h['epoch']}/{self.config.epochs} loss "
                     f"{h['loss']:.4f} train acc {h['train_acc']:.2f}% ({h['seconds']:.1f} s)")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
