"""Notebook 05's comparisons of what the two forms compute, as tables: linear probes after
every module beside the paper's Tables 3 and 6, and CKA between named nets.

The measurements themselves (features, probes, CKA) are :mod:`recur.analysis`; this
module puts them side by side the way the paper reports them.
"""
from __future__ import annotations

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
