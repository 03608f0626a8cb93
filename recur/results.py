"""Run records: one JSON file per finished run under ``<results>/runs/``, and tables.

``<results>`` is ``$RECUR_RESULTS`` when set (the batch runner points it at
``results/<profile>/``; the tests at a temporary folder), else the checkout's ``results/``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from recur import storage
from recur.config import ADDED_FIELDS
from recur.forms import FORMS
from recur.storage import DamagedFile, atomic_write, read_json, warn
from recur.provenance import ROOT

COLUMNS = ["experiment", "family", "dataset", "recurrent", "depth", "width", "seed",
           "test_acc", "train_acc", "parameters", "epochs", "seconds", "samples_per_s",
           "profile", "device", "git_commit", "torch", "name"]


def pack(correct) -> str:
    """Per-example correctness (bools) as a hex string, one bit per example."""
    return np.packbits(np.asarray(correct, dtype=bool)).tobytes().hex()


def unpack(text: str, n: int) -> np.ndarray:
    """:func:`pack`'s inverse: ``n`` bools."""
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))
    if len(bits) < n or len(bits) - n >= 8:
        raise ValueError(f"{len(text)} hex digits do not hold {n} examples")
    return bits[:n].astype(bool)


def results_dir(path=None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get("RECUR_RESULTS") or ROOT / "results")


def profile_dir(profile: str) -> Path:
    """Where the batch runner keeps a profile's results in this checkout: results/<profile>/."""
    return ROOT / "results" / profile


#: A run record: the run's name, whether it finished, and three parts: the config that
#: made it, what it measured and where and with what it ran.  One without them is damaged.
RECORD_KEYS = ("name", "finished", "config", "metrics", "provenance")
METRICS = ("parameters", "iterations", "train_acc", "test_acc", "test_acc_per_iteration",
           "test_correct", "test_images", "test_set", "seconds", "samples_per_s", "history")
PROVENANCE = ("device", "bf16", "git_commit", "python", "numpy", "torch", "recur")


def write_record(path: Path, record: dict) -> None:
    """Atomically (unique temp file, then rename): concurrent runs never see half a file."""
    atomic_write(path, json.dumps(record, indent=1))


def read_record(path: Path) -> dict:
    """A run record, validated: :class:`recur.storage.DamagedFile` naming the path when it
    is empty, cut short, not JSON or not a whole record of the run its name says.  A record
    in the earlier flat layout is read in the current one (:func:`upgrade`)."""
    record = read_json(path, "run record", keys=("name", "finished", "config"))
    record = upgrade(record)
    parts_ok = all(isinstance(record.get(k), dict) for k in RECORD_KEYS[2:])
    if record["name"] != Path(path).stem or not parts_ok:
        raise DamagedFile(f"run record {path} is damaged (it names the run "
                          f"{record['name']!r}, not {Path(path).stem!r}, or lacks one of "
                          f"config, metrics, provenance)")
    return record


def upgrade(record: dict) -> dict:
    """A record written before records had parts (every field at the top, beside a copy of
    its config), in the current layout with the same values; a current record as it is."""
    if "metrics" in record or not isinstance(record.get("config"), dict):
        return record
    return {"name": record["name"], "finished": record["finished"], "config": record["config"],
            "metrics": {k: record.get(k) for k in METRICS},
            "provenance": {k: record[k] for k in PROVENANCE if k in record}}


def flatten(record: dict) -> dict:
    """One run record as one table row: its config's fields, its metrics, its provenance
    (whose ``device``, the one the run used, replaces the config's request), its name, and
    the config itself (column ``config``)."""
    return {**ADDED_FIELDS, **record["config"], **record["metrics"], **record["provenance"],
            "name": record["name"], "finished": record["finished"], "config": record["config"]}


def records_frame(records) -> pd.DataFrame:
    """Run records as a DataFrame, one row per run (``COLUMNS`` first)."""
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame([flatten(r) for r in records])
    return df[[c for c in COLUMNS if c in df] + [c for c in df if c not in COLUMNS]]


def report_damaged(path: Path, err: DamagedFile, then: str) -> None:
    """Report a damaged run record, move it aside (``*.corrupt``) and say what happens next."""
    warn(f"{err}; {storage.set_aside(path)}; {then}")


def table(path=None) -> pd.DataFrame:
    """All run records as a DataFrame, one row per run (columns: ``COLUMNS`` first).
    A damaged record is reported, moved aside and skipped."""
    files = sorted((results_dir(path) / "runs").glob("*.json"))
    rows = []
    for f in files:
        try:
            rows.append(read_record(f))
        except DamagedFile as err:
            report_damaged(f, err, "skipped here; running its config again re-evaluates it "
                                   "from its last checkpoint, or trains it if there is none")
    return records_frame(rows)


def summarise(df: pd.DataFrame, by=("family", "recurrent", "depth"), value: str = "test_acc"):
    """Mean, standard error (std / √n, 0 for a single seed) and count of ``value`` over
    seeds, per group."""
    g = df.groupby(list(by))[value]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["se"] = (out["std"] / np.sqrt(out["n"])).fillna(0.0)
    return out.drop(columns="std")


# config fields that make runs incomparable
SETTINGS = ("maze_size", "dilation", "n_train", "shared_norm", "split")
GAP = f"gap ({FORMS[True]} − {FORMS[False]})"  # signed: positive where recurrent does better


def with_settings(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with columns maze_size and dilation (mazes only; "" for images), n_train
    ("all" when the whole training set), shared_norm and split (image data: "fixed", "per
    seed" when each seed draws its own, else the seed that drew it), read from each record's
    config."""
    if "config" not in df or df.empty:
        return df.assign(**{k: "" for k in SETTINGS})
    mazes = (df["experiment"] == "mazes").to_numpy()
    cfg = df["config"]
    return df.assign(maze_size=[c.get("maze_size", "") if m else "" for c, m in zip(cfg, mazes)],
                     dilation=[c.get("dilation", 1) if m else "" for c, m in zip(cfg, mazes)],
                     n_train=[c.get("n_train") or "all" for c in cfg],
                     shared_norm=[c.get("shared_norm", False) for c in cfg],
                     split=[_split(c) if not m else "" for c, m in zip(cfg, mazes)])


def _split(config: dict) -> str:
    seed = config.get("split_seed")
    return "fixed" if seed is None else "per seed" if seed == config["seed"] else f"seed {seed}"


def comparison(df: pd.DataFrame, *, compact: bool = True) -> pd.DataFrame:
    """Feed-forward vs recurrent test accuracy (mean ± s.e. over seeds, and the signed
    gap) per experiment, dataset, family, setting (maze size, dilation, training-set size:
    runs that differ in them are never averaged together) and effective depth: the paper's
    central comparison.  ``compact``: without the key columns that have one value only,
    indexed by the rest (as a notebook prints it); else every key as a column."""
    df = with_settings(df)
    keys = ["experiment", "dataset", "family", *SETTINGS, "depth"]
    s = summarise(df, by=keys + ["recurrent"])
    rows = []
    for key, group in s.groupby(keys):
        row = dict(zip(keys, key))
        for rec, label in FORMS.items():
            g = group[group.recurrent == rec]
            row[label] = (f"{g['mean'].iloc[0]:.1f} ± {g['se'].iloc[0]:.1f} (n={g['n'].iloc[0]})"
                          if len(g) else "")
        both = group.set_index("recurrent")["mean"]
        row[GAP] = f"{both[True] - both[False]:+.1f}" if len(both) == 2 else ""
        rows.append(row)
    table = pd.DataFrame(rows, columns=keys + [FORMS[False], FORMS[True], GAP])
    if not compact:
        return table
    constant = [k for k in keys[:-1] if table[k].nunique() == 1]
    return table.drop(columns=constant).set_index([k for k in keys if k not in constant])


def fit_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Training beside test accuracy per depth and form, mean over seeds (%, one decimal)."""
    fit = runs.pivot_table(index="depth", columns="recurrent", values=["train_acc", "test_acc"])
    return fit.rename(columns=FORMS).rename_axis(columns=[None, None]).round(1)


def trained_with(*tables: pd.DataFrame) -> str:
    """One line: the environments the runs of ``tables`` were trained in, from their
    records' provenance (precision, device, torch, commit), with how many runs each."""
    runs = [t for t in tables if t is not None and len(t)]
    if not runs:
        return "trained with: no runs"
    envs = _environments(pd.concat(runs, ignore_index=True).drop_duplicates("name"))
    return "trained with: " + "; ".join(f"{n} runs in {env}" for n, env in envs)


def _environments(df: pd.DataFrame) -> list[tuple[int, str]]:
    """(how many runs, "bf16 on cpu, torch …, commit …") per environment of ``df``."""
    keys = [k for k in ("bf16", "device", "torch", "git_commit") if k in df]
    if not keys:
        return [(len(df), "an environment their records do not name")]
    out = []
    for key, group in df.groupby(keys, dropna=False):
        env = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        precision = {True: "bf16", False: "fp32"}.get(env.get("bf16"), "unknown precision")
        out.append((len(group), f"{precision} on {env.get('device', '?')}, torch "
                                f"{env.get('torch', '?')}, commit "
                                f"{str(env.get('git_commit', '?'))[:7]}"))
    return out


def scale_of(runs: pd.DataFrame, *, note: str = "") -> str:
    """At what scale ``runs`` decided a claim, for its row: recipe, seeds, the test set
    (per seed or one shared, from the records' fingerprints), maze size, widths and
    training-set size; ``note`` is added (e.g. "one net")."""
    if runs is None or not len(runs):
        return note
    # the runs' recipe (recur.profiles.RECIPES): the extended profile's runs are quick ones
    parts = [f"{runs.profile.iloc[0]} recipe" if "profile" in runs else ""]
    seeds = sorted(int(s) for s in runs.seed.unique()) if "seed" in runs else []
    if seeds:
        parts.append(f"{len(seeds)} seed{'s' * (len(seeds) > 1)}")
    mazes = "experiment" in runs and bool((runs.experiment == "mazes").all())
    tokens = "dataset" in runs and bool((runs.dataset == "phop").all())
    noun = "mazes" if mazes else "sequences" if tokens else "images"
    if mazes and "maze_size" in runs:
        parts.append(" and ".join(f"{m} mazes" for m in dict.fromkeys(runs.maze_size)))
    if "test_images" in runs and runs.test_images.notna().all():
        n = int(runs.test_images.max())
        shared = "test_set" in runs and runs.test_set.nunique() == 1 and len(seeds) > 1
        parts.append(f"{n:,} test {noun}" + (" shared by every seed" if shared else
                                        " per seed" if len(seeds) > 1 else ""))
    if "width" in runs:
        widths = sorted({int(w) for w in runs.width.dropna()})
        parts.append("width " + "/".join(map(str, widths)) if widths else "")
    n_train = pd.to_numeric(runs.get("n_train", pd.Series(dtype=float)), errors="coerce")
    if n_train.notna().any():  # ("all" in a with_settings table: the whole training set)
        parts.append(f"{int(n_train.max()):,} training {noun}")
    return ", ".join(p for p in parts + [note] if p)


SOURCE = "Drawn from"  # how a figure's provenance line begins (the site's tests look for it)


def figure_source(*tables: pd.DataFrame, notebook: str, profile: str = "quick",
                  what: str = "") -> str:
    """The line under a figure: the runs it draws (how many, which seeds, and the
    environment they were trained in, from their records; ``what`` says more, e.g. which
    nets) and the command that rebuilds it."""
    runs = [t for t in tables if t is not None and len(t)]
    rebuild = f"Rebuild: python -m recur reproduce --profile {profile} --notebooks {notebook}"
    if tables and not runs:  # a figure of runs this run did not make (a skipped study)
        return (f"{SOURCE} no runs: none were made for this figure here (see the parameters "
                f"cell), so it is not drawn. {rebuild}")
    if not runs:
        return f"{SOURCE} {what or 'data generated in this notebook'} (no trained runs). {rebuild}"
    df = pd.concat(runs, ignore_index=True).drop_duplicates("name")
    seeds = sorted({int(s) for s in df.seed}) if "seed" in df else []
    seeded = (f", seed{'s' * (len(seeds) > 1)} {_ranges(seeds)}" if seeds else "")
    envs = _environments(df)
    trained = (f"trained in {envs[0][1]}" if len(envs) == 1 else
               f"trained in {len(envs)} environments: "
               + "; ".join(f"{n} in {env}" for n, env in envs))
    return (f"{SOURCE} {len(df)} run{'s' * (len(df) > 1)}{seeded}"
            + (f" ({what})" if what else "") + f"; {trained}. {rebuild}")


def _ranges(values) -> str:
    """Sorted integers as ranges: 0-3, 5."""
    parts, start = [], None
    for k, v in enumerate(values):
        if start is None:
            start = v
        if k + 1 == len(values) or values[k + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(parts)


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])
