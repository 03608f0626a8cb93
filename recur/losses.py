"""Losses and scores for the two experiments (paper 4.2; SPEC 3).

Mazes: per-pixel cross-entropy over the non-wall pixels; a maze counts as solved only if
every non-wall pixel is right.  Walls and padding are black in the input, so the input
itself says which pixels count.  Classification: cross-entropy and top-1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def free_pixels(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: the maze pixels that are not wall or padding (which are black)."""
    return x.amax(dim=1) > 0


def maze_loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
              count: torch.Tensor | float | None = None) -> torch.Tensor:
    """Per-pixel cross-entropy summed over non-wall pixels, divided by ``count``.

    ``count`` defaults to this batch's non-wall pixels (the mean).  A DDP rank passes the
    global batch's count / world size, so that the average of the ranks' gradients is the
    gradient of the global batch's mean, however unevenly the batch splits."""
    mask = free_pixels(x)
    per_pixel = F.cross_entropy(logits.float(), y, reduction="none")  # (B, H, W)
    if count is None:
        count = mask.sum()
    count = count.clamp_min(1) if torch.is_tensor(count) else max(count, 1)
    return (per_pixel * mask).sum() / count


def class_loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor | None = None,
               count: torch.Tensor | float | None = None) -> torch.Tensor:
    """Cross-entropy, summed and divided by ``count`` (default: mean over this batch)."""
    if count is None:
        return F.cross_entropy(logits.float(), y)
    return F.cross_entropy(logits.float(), y, reduction="sum") / count


def maze_correct(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per maze: is every non-wall pixel predicted right?  (B,) bool."""
    wrong = (logits.argmax(1) != y) & free_pixels(x)
    return ~wrong.flatten(1).any(1)


def class_correct(logits: torch.Tensor, y: torch.Tensor,
                  x: torch.Tensor | None = None) -> torch.Tensor:
    """Per sample: is the top-1 class right?  (B,) bool."""
    return logits.argmax(1) == y


def global_count(experiment: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """What one process's mean divides by, for a whole (global) batch: its non-wall pixels
    (mazes) or its samples (classification)."""
    if experiment == "mazes":
        return free_pixels(x).sum()
    return torch.tensor(float(len(y)), device=y.device)


#: experiment -> (loss, per-sample correctness)
OBJECTIVES = {"mazes": (maze_loss, maze_correct), "classification": (class_loss, class_correct)}
