"""Notebook 05's comparisons of what the two forms compute: the trained nets it compares
(:func:`nets`), activation reuse against untrained nets, linear probes after every module
beside the paper's Tables 3 and 6, CKA between the nets of seed pairings, and the
pictures of what a channel responds to.

The measurements themselves (features, probes, CKA) are :mod:`recur.analysis` and
:mod:`recur.visualise`; this module puts them side by side the way the paper reports them.
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import torch

from recur import analysis, experiments, paper, results, visualise
from recur.claims import SAME_DEPTH, SHALLOWER
from recur.forms import FORMS
from recur.evaluation import build_net
from recur.models import classifier_input
from recur.profiles import make_config
from recur import train as trainer

#: The nets notebook 05 compares, as (family, recurrent, effective depth): the 8-layer
#: ConvNets of both forms and a 4-layer feed-forward one (reuse, CKA, pictures), and the
#: depth-19 ResNets of both forms (probes).  Trained in this order, seed by seed.
MODELS = (("convnet", True, 8), ("convnet", False, 8), ("convnet", False, 4),
          ("resnet", True, 19), ("resnet", False, 19))
REFERENCE = "reference"  # a CKA pairing's reference net (cka_pairings, cka_table)
ANOTHER_SEED = "same depth, feed-forward (another seed)"


@dataclasses.dataclass(frozen=True)
class Nets:
    """Trained nets keyed by (family, recurrent, depth, seed), their configs (same keys)
    and run records (:func:`nets`).  ``nets(family, recurrent, depth, seed)`` is one net."""
    configs: dict
    trained: dict
    runs: pd.DataFrame

    def __call__(self, family: str, recurrent: bool, depth: int, seed: int):
        return self.trained[(family, recurrent, depth, seed)]

    def describe(self) -> str:
        """The models, once each: ``<family> depth <d> <form>``."""
        kinds = dict.fromkeys(k[:3] for k in self.configs)
        return ", ".join(f"{f} depth {d} {FORMS[r]}" for f, r, d in kinds)


def nets(*, profile: str, dataset: str, seeds, device: str, models=MODELS) -> Nets:
    """Train (or read back) and load every model of ``models`` for every seed of ``seeds``
    (the first seed's models first), notebook 02's recipe on ``dataset``'s fixed split."""
    first = {m: make_config(profile, "classification", family=m[0], recurrent=m[1], depth=m[2],
                            dataset=dataset, seed=seeds[0], device=device) for m in models}
    configs = {(*m, s): c.replace(seed=s) if s != seeds[0] else c
               for s in seeds for m, c in first.items()}
    runs = experiments.run_all(list(configs.values()))
    return Nets(configs, {k: trainer.load_trained(c) for k, c in configs.items()}, runs)


def untrained(config):
    """An untrained net of ``config``'s family, form, depth, dataset and width, drawn from
    its seed (``torch.manual_seed``), as its trained net's control."""
    torch.manual_seed(config.seed)
    return build_net(config)


REUSE = {"pairs": "image-filter pairs ever active", "mean_ratio": "mean ratio",
         "frac_reused": "share of ratios > 0.5",
         "frac_pairs_used_everywhere": "pairs active at every iteration"}


def reuse_study(nets: Nets, x: torch.Tensor, seeds, model=("convnet", True, 8)):
    """Activation reuse (paper Figs. 6, 9) of ``model``'s trained and untrained nets: the
    first seed's :func:`recur.analysis.activation_reuse` of both ({"trained", "untrained"}),
    and per seed both mean ratios (columns seed, trained, untrained)."""
    def mean_ratio(net):
        return analysis.activation_reuse(analysis.module_features(net, x))["mean_ratio"]

    first = nets.configs[(*model, seeds[0])]
    reuse = {"trained": analysis.activation_reuse(analysis.module_features(nets(*model, seeds[0]),
                                                                           x)),
             "untrained": analysis.activation_reuse(analysis.module_features(untrained(first), x))}
    ratios = pd.DataFrame([{"seed": s, "trained": mean_ratio(nets(*model, s)),
                            "untrained": mean_ratio(untrained(nets.configs[(*model, s)]))}
                           for s in seeds])
    return reuse, ratios


def reuse_summary(reuse: dict) -> pd.DataFrame:
    """:func:`recur.analysis.activation_reuse` results side by side (one column each),
    rounded to three decimals."""
    return pd.DataFrame({k: {REUSE[n]: round(v[n], 3) for n in REUSE} for k, v in reuse.items()})


def probe_table(nets: dict, train, test) -> pd.DataFrame:
    """Linear probes after every module of each net in ``nets`` (recurrent -> net), on full
    and on average-pooled features; ``train`` and ``test`` are (images, labels).  One row
    per (recurrent, features, module): ``net`` (its form's name), ``dims`` (numbers per
    image), train_acc, test_acc and the paper's (``*_paper``, Tables 3 and 6: CIFAR-10), and
    as a run record has them, which test images it gets right and the images' fingerprint
    (``test_correct``, ``test_images``, ``test_set``): probes on the same images pair image
    by image (:func:`recur.findings.sample`)."""
    digest = hashlib.sha256(test[0].cpu().contiguous().numpy().tobytes())
    digest.update(np.asarray(test[1]).tobytes())
    rows = []
    for recurrent, net in nets.items():
        f_train, f_test = (analysis.module_features(net, x) for x in (train[0], test[0]))
        for pool in (False, True):
            probes = analysis.linear_probes(f_train, train[1], f_test, test[1], pool=pool)
            for p, f in zip(probes, f_train):
                rows.append({"recurrent": recurrent, "net": FORMS[recurrent],
                             "features": "pooled" if pool else "full", "module": p["module"],
                             "dims": f.shape[1] if pool else f[0].numel(),
                             "train_acc": p["train_acc"], "test_acc": p["test_acc"],
                             "test_correct": results.pack(p["test_correct"]),
                             "test_images": len(p["test_correct"]),
                             "test_set": digest.hexdigest()[:16]})
    reported = pd.concat([paper.probes(pooled=p).assign(features="pooled" if p else "full")
                          for p in (False, True)])
    return pd.DataFrame(rows).merge(reported, on=["recurrent", "features", "module"],
                                    how="left", suffixes=("", "_paper"))


def probe_tables(nets: Nets, seeds, train, test, *, family: str = "resnet",
                 depth: int = 19) -> pd.DataFrame:
    """:func:`probe_table` for the two forms of ``family`` at ``depth`` of every seed, one
    table with a ``seed`` column."""
    return pd.concat([probe_table({False: nets(family, False, depth, s),
                                   True: nets(family, True, depth, s)}, train, test).assign(seed=s)
                      for s in seeds], ignore_index=True)


PROBE_COLUMNS = ["dims", "train_acc", "test_acc", "train_acc_paper", "test_acc_paper"]


def probe_means(probes: pd.DataFrame) -> pd.DataFrame:
    """The probes' numbers per features, net and module, mean over seeds."""
    return probes.groupby(["features", "net", "module"], as_index=False)[PROBE_COLUMNS].mean()


def probe_text(means: pd.DataFrame) -> pd.DataFrame:
    """:func:`probe_means` as ``train/test`` text, ours beside the paper's, a column per
    module."""
    def both(train, test):
        return train.map("{:.1f}".format) + "/" + test.map("{:.1f}".format)

    shown = means.assign(ours=both(means.train_acc, means.test_acc),
                         paper=both(means.train_acc_paper, means.test_acc_paper))
    return shown.pivot(index=["features", "net"], columns="module", values=["ours", "paper"])


def test_above_train(means: pd.DataFrame) -> list[str]:
    """The probes whose mean test accuracy exceeds their training accuracy, by how much."""
    above = means[means.test_acc > means.train_acc]
    return [f"{r.net} {r.features} module {r.module} (+{r.test_acc - r.train_acc:.1f})"
            for r in above.itertuples()]


def cka_pairings(nets: Nets, seeds, *, family: str = "convnet", depth: int = 8,
                 shallower: int = 4) -> dict:
    """The seed pairings CKA compares (paper 5.1): "same seed" (the first seed's nets), and
    "seeds a, b" for consecutive seeds in a ring, a's feed-forward net of ``depth`` as the
    reference and b's nets compared with it, b's own feed-forward net of ``depth`` beside
    them.  Each pairing: {REFERENCE, SAME_DEPTH (recurrent), SHALLOWER (feed-forward), ...}."""
    def compared(a, b):
        return {REFERENCE: nets(family, False, depth, a), SAME_DEPTH: nets(family, True, depth, b),
                SHALLOWER: nets(family, False, shallower, b)}

    ring = list(zip(seeds, [*seeds[1:], *seeds[:1]]))
    return {"same seed": compared(seeds[0], seeds[0])} | {
        f"seeds {a}, {b}": compared(a, b) | {ANOTHER_SEED: nets(family, False, depth, b)}
        for a, b in ring}


def across_seeds(cka: pd.DataFrame, where: str = "last module") -> dict:
    """The seed pairings' CKA at ``where`` (the "same seed" pairing left out: its nets
    share initial weights): pairing -> {net: CKA}, as :func:`recur.claims.features` takes."""
    return {p: cka[(p, w)] for p, w in cka.columns if w == where and p != "same seed"}


def layers_across_seeds(cka: pd.DataFrame) -> dict:
    """:func:`across_seeds` at every layer :func:`cka_table` computed (layer -> pairing ->
    {net: CKA}): :func:`recur.claims.features` decides each, none chosen after looking."""
    layers = [w for p, w in cka.columns if p != "paper" and w]
    return {w: across_seeds(cka, w) for w in dict.fromkeys(layers)}


@torch.no_grad()
def cka_maps(pairing: dict, x: torch.Tensor) -> list:
    """CKA module by module (:func:`recur.analysis.cka_matrix`, debiased) of the reference
    net of ``pairing`` (:func:`cka_pairings`) with each other net, in order."""
    feats = {k: analysis.module_features(n, x) for k, n in pairing.items()}
    return [analysis.cka_matrix(feats[REFERENCE], f, debiased=True)
            for k, f in feats.items() if k != REFERENCE]


@torch.no_grad()
def cka_table(pairings: dict, x: torch.Tensor, reference: str = REFERENCE) -> pd.DataFrame:
    """Debiased linear CKA of every net's features with the ``reference`` net's, after the
    last module and at the classifier's input (the head without its last layer), on the
    images ``x``.  ``pairings``: name -> {net name -> net} (:func:`cka_pairings`).  Columns
    (pairing, where), one row per net other than the reference."""
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


def filter_pictures(net, channel: int, x: torch.Tensor, *, modules: int, steps: int, seed: int,
                    lr: float = 0.1) -> dict:
    """Channel ``channel``'s preferred input after each module (or iteration) 1 to
    ``modules`` (:func:`recur.visualise.visualise_filter`, the paper's A.6 regularisers
    growing with depth), optimised from two starts (``seed`` and ``seed + 1``) as a control
    for the optimisation's own noise.  Returns ``images`` (first start, ready to show),
    ``silent`` (dead channel there), ``gain`` (activation over that of random images in the
    range of ``x``), ``starts`` (similarity of the two starts' images per module) and
    ``depths`` (similarity of consecutive modules' images, first start)."""
    noise = x.min() + (x.max() - x.min()) * torch.rand(
        (64, *x.shape[1:]), generator=torch.Generator().manual_seed(seed))
    first, second = ([visualise.visualise_filter(net, k, channel, reference=x, lr=lr,
                                                 steps=steps, seed=s,
                                                 **visualise.regulariser_weights(k, modules))
                      for k in range(1, modules + 1)] for s in (seed, seed + 1))
    on_noise = [visualise.activation_norm(net, noise, k, channel).mean()
                for k in range(1, modules + 1)]
    raw = [r.images[0] for r in first]
    return {"images": [visualise.to_display(img) for img in raw],
            "silent": [bool(r.silent[0]) for r in first],
            "gain": [float(r.activation.mean() / n.clamp_min(1e-12))
                     for r, n in zip(first, on_noise)],
            "starts": [similarity(a, b.images[0]) for a, b in zip(raw, second)],
            "depths": [similarity(a, b) for a, b in zip(raw, raw[1:])]}


def pictures(nets: Nets, x: torch.Tensor, *, seed: int, steps: int, family: str = "convnet",
             depth: int = 8, modules: int = 5) -> dict:
    """:func:`filter_pictures` of the two most selective channels (:func:`selective_filters`)
    of both forms of ``family`` at ``depth`` of ``seed`` (recurrent first), keyed
    (recurrent, channel)."""
    return {(rec, c): filter_pictures(nets(family, rec, depth, seed), c, x, modules=modules,
                                      steps=steps, seed=seed)
            for rec in (True, False)
            for c in selective_filters(nets(family, rec, depth, seed), x)}


def silent_pictures(pictures: dict) -> list[str]:
    """``<form> filter <channel> at <module>`` for every picture of a silent channel."""
    return [f"{FORMS[rec]} filter {c} at {k}" for (rec, c), p in pictures.items()
            for k, s in enumerate(p["silent"], 1) if s]


def picture_similarity(pictures: dict) -> dict:
    """Per form (its name): the median similarity of a channel's pictures at consecutive
    depths, and of the same channel and depth from two starts (NaN, silent, left out)."""
    return {form: tuple(np.nanmedian([v for (r, _), p in pictures.items() if r == rec
                                      for v in p[part]]) for part in ("depths", "starts"))
            for rec, form in FORMS.items()}
