"""Notebook 05's comparisons of what the two forms compute, as tables: linear probes after
every module beside the paper's Tables 3 and 6, and CKA between named nets.

The measurements themselves (features, probes, CKA) are :mod:`recur.analysis`; this
module puts them side by side the way the paper reports them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recur import analysis, paper
from recur.forms import FORMS
from recur.models import classifier_input


def probe_table(nets: dict, train, test) -> pd.DataFrame:
    """Linear probes after every module of each net in ``nets`` (recurrent -> net), on full
    and on average-pooled features; ``train`` and ``test`` are (images, labels).  One row
    per (recurrent, features, module): ``net`` (its form's name), ``dims`` (numbers per
    image), train_acc, test_acc and the paper's (``*_paper``, Tables 3 and 6: CIFAR-10)."""
    rows = []
    for recurrent, net in nets.items():
        f_train, f_test = (analysis.module_features(net, x) for x in (train[0], test[0]))
        for pool in (False, True):
            probes = analysis.linear_probes(f_train, train[1], f_test, test[1], pool=pool)
            for p, f in zip(probes, f_train):
                rows.append({"recurrent": recurrent, "net": FORMS[recurrent],
                             "features": "pooled" if pool else "full", "module": p["module"],
                             "dims": f.shape[1] if pool else f[0].numel(),
                             "train_acc": p["train_acc"], "test_acc": p["test_acc"]})
    reported = pd.concat([paper.probes(pooled=p).assign(features="pooled" if p else "full")
                          for p in (False, True)])
    return pd.DataFrame(rows).merge(reported, on=["recurrent", "features", "module"],
                                    how="left", suffixes=("", "_paper"))


@torch.no_grad()
def cka_table(pairings: dict, x: torch.Tensor, reference: str = "ff8") -> pd.DataFrame:
    """Debiased linear CKA of every net's features with the ``reference`` net's, after the
    last module and at the classifier's input (the head without its last layer), on the
    images ``x``.  ``pairings``: name -> {net name -> net} (e.g. the same seed, another
    seed).  Columns (pairing, where), one row per net other than the reference."""
    table = {}
    for pairing, nets in pairings.items():
        last = {k: analysis.module_features(n, x)[-1] for k, n in nets.items()}
        head = {k: classifier_input(nets[k], v) for k, v in last.items()}
        for where, feats in (("last module", last), ("classifier input", head)):
            table[(pairing, where)] = {k: analysis.linear_cka(feats[reference], f, debiased=True)
                                       for k, f in feats.items() if k != reference}
    return pd.DataFrame(table)


def selective_filters(net, x: torch.Tensor, k: int = 2) -> list[int]:
    """The ``k`` filters after the last module whose mean response varies most across the
    images ``x`` (a filter that answers every image alike gives a featureless picture)."""
    last = analysis.module_features(net, x)[-1].clamp_min(0).mean((2, 3))  # (N, C)
    return last.std(0).argsort(descending=True)[:k].tolist()


def similarity(a, b) -> float:
    """|Pearson correlation| of two images' pixels; NaN where one is constant (silent)."""
    a, b = np.ravel(np.asarray(a, float)), np.ravel(np.asarray(b, float))
    return float(abs(np.corrcoef(a, b)[0, 1])) if a.std() and b.std() else float("nan")


def filter_pictures(net, filt: int, x: torch.Tensor, *, layers: int, steps: int, seed: int,
                    lr: float = 0.1) -> dict:
    """Filter ``filt``'s preferred input after each layer (module or iteration) 1 to
    ``layers`` (:func:`recur.analysis.visualise_filter`, the paper's A.6 regularisers
    growing with depth), optimised from two starts (``seed`` and ``seed + 1``) as a control
    for the optimisation's own noise.  Returns ``images`` (first start, ready to show),
    ``silent`` (dead filter there), ``gain`` (activation over that of random images in the
    range of ``x``), ``starts`` (similarity of the two starts' images per layer) and
    ``depths`` (similarity of consecutive layers' images, first start)."""
    noise = x.min() + (x.max() - x.min()) * torch.rand(
        (64, *x.shape[1:]), generator=torch.Generator().manual_seed(seed))
    first, second = ([analysis.visualise_filter(net, k, filt, reference=x, lr=lr, steps=steps,
                                                seed=s, **analysis.regulariser_weights(k, layers))
                      for k in range(1, layers + 1)] for s in (seed, seed + 1))
    on_noise = [analysis.activation_norm(net, noise, k, filt).mean() for k in range(1, layers + 1)]
    raw = [r.images[0] for r in first]
    return {"images": [analysis.to_display(img) for img in raw],
            "silent": [bool(r.silent[0]) for r in first],
            "gain": [float(r.activation.mean() / n.clamp_min(1e-12))
                     for r, n in zip(first, on_noise)],
            "starts": [similarity(a, b.images[0]) for a, b in zip(raw, second)],
            "depths": [similarity(a, b) for a, b in zip(raw, raw[1:])]}
