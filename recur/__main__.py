"""Command line.

    python -m recur reproduce --profile quick [--notebooks 01 03]
    python -m recur site --profile quick        # results/quick/site/index.html
    python -m recur train --experiment mazes --family maze --depth 20 --recurrent
    python -m recur train --experiment classification --family convnet --depth 6 \
        --feed-forward --dataset cifar10 --profile paper --set epochs=50 lr=0.02
"""
from __future__ import annotations

import argparse
import json
import sys

from recur.config import EXPERIMENTS
from recur.params import SPLIT_POLICIES
from recur.profiles import PROFILES
from recur.storage import StorageError


def _parse_sets(pairs) -> dict:
    """``key=value`` pairs; values are read as JSON when they parse (numbers, lists,
    true/false/null), else kept as strings."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--set takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        if isinstance(out[key], list) and key == "milestones":
            out[key] = tuple(out[key])
    return out


def _add_reproduce(sub) -> None:
    rep = sub.add_parser("reproduce", help="execute the notebooks with papermill")
    rep.add_argument("--profile", default="quick", choices=PROFILES,
                     help="quick: minutes on a laptop CPU; extended: its nets with more "
                          "seeds, depths and studies; evidence: the seeds the claims need "
                          "(GPU); paper: the authors' settings (GPU)")
    rep.add_argument("--notebooks", nargs="*", metavar="NN",
                     help="numbers of the notebooks to run (default: all, in order)")
    rep.add_argument("--device", help="passed to notebooks that take a device parameter")
    rep.add_argument("--output", help="folder for the executed notebooks "
                                      "(default: results/<profile>)")
    rep.add_argument("--fresh", action="store_true",
                     help="delete this profile's run records and checkpoints first, so "
                          "every model is trained again (else finished runs are reused)")
    rep.add_argument("--update-notebooks", action="store_true",
                     help="also write each executed notebook back to notebooks/ "
                          "(how the committed quick-profile notebooks are made)")
    rep.add_argument("--no-site", action="store_true",
                     help="skip building the reading site (<output>/site) at the end")
    rep.add_argument("--dry-run", action="store_true",
                     help="check the profile's parameters in each notebook's own "
                          "validation cell and print them; train and write nothing")


def _add_site(sub) -> None:
    st = sub.add_parser("site", help="build the reading site from executed notebooks")
    st.add_argument("--profile", default="quick", choices=PROFILES,
                    help="whose executed notebooks: results/<profile>/")
    st.add_argument("--notebooks-dir", help="folder of executed notebooks (default: "
                                            "results/<profile>)")
    st.add_argument("--output", help="where the site goes (default: <notebooks-dir>/site)")


def _add_train(sub) -> None:
    tr = sub.add_parser("train", help="train one model (the same configs the notebooks use)")
    tr.add_argument("--experiment", required=True, choices=EXPERIMENTS)
    tr.add_argument("--family", required=True)
    form = tr.add_mutually_exclusive_group(required=True)
    form.add_argument("--recurrent", dest="recurrent", action="store_true")
    form.add_argument("--feed-forward", dest="recurrent", action="store_false")
    tr.add_argument("--depth", type=int, required=True, help="effective depth")
    tr.add_argument("--dataset", help="image dataset (default: digits; mazes for mazes)")
    tr.add_argument("--profile", default="quick", choices=PROFILES)
    tr.add_argument("--optimizer", help="mazes: which of the profile's recipes (adam, sgd)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--device", default="auto")
    tr.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override config fields")
    tr.add_argument("--results", help="results folder (default: $RECUR_RESULTS or results/)")
    tr.add_argument("--no-resume", action="store_true", help="start afresh even if a "
                    "checkpoint or record exists")
    tr.add_argument("--download", action="store_true", help="download the dataset if missing")
    tr.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                    help="if another process is training this config, wait this long for it "
                         "(default: stop at once with a message)")
    tr.add_argument("--data-root", help="where the image datasets are (default: $RECUR_DATA)")


def _add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="submit a grid of runs as a job array (submitit)")
    sw.add_argument("--launcher", default="local", choices=["local", "slurm"])
    sw.add_argument("--experiment", required=True, choices=EXPERIMENTS)
    sw.add_argument("--families", nargs="+", required=True)
    sw.add_argument("--depths", nargs="*", type=int, help="effective depths (default: the "
                    "first four of each family)")
    sw.add_argument("--seeds", nargs="+", type=int, default=[0])
    sw.add_argument("--datasets", nargs="*")
    sw.add_argument("--split", default="fixed", choices=SPLIT_POLICIES,
                    help="digits: one train/test split, or one per seed (notebook 02's)")
    sw.add_argument("--profile", default="quick", choices=PROFILES)
    sw.add_argument("--device", default="auto")
    sw.add_argument("--timeout-min", type=int, default=60)
    sw.add_argument("--array-parallelism", type=int, default=16)
    sw.add_argument("--partition")
    sw.add_argument("--gpus-per-node", type=int, default=0)
    sw.add_argument("--cpus-per-task", type=int, default=2)
    sw.add_argument("--folder", default="results/sweeps", help="submitit's logs")
    sw.add_argument("--results", help="results folder (default: $RECUR_RESULTS or results/)")
    sw.add_argument("--wait", action="store_true", help="wait for the jobs and print results")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m recur`` parser: one subcommand per ``_add_*``."""
    parser = argparse.ArgumentParser(prog="python -m recur", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_reproduce, _add_site, _add_train, _add_sweep):
        add(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, parser)
    except StorageError as err:  # a file or folder that cannot be read or written: one line
        print(f"[recur] error: {err}", file=sys.stderr)
        return 4


def _sweep(args, parser) -> int:
    from recur.sweep import grid, submit
    try:
        configs = grid(args.experiment, families=args.families, depths=args.depths,
                       seeds=args.seeds, datasets=args.datasets, profile=args.profile,
                       split=args.split, device=args.device)
        jobs = submit(configs, launcher=args.launcher, folder=args.folder,
                      results_dir=args.results, timeout_min=args.timeout_min,
                      array_parallelism=args.array_parallelism, partition=args.partition,
                      gpus_per_node=args.gpus_per_node, cpus_per_task=args.cpus_per_task)
    except ValueError as err:
        parser.error(str(err))
    print(f"[recur] {len(configs)} configs, {len(jobs)} submitted "
          f"({len(configs) - len(jobs)} already have records)")
    for job in jobs:
        print(f"[recur] job {job.job_id}")
    if args.wait:
        for job in jobs:
            print(job.result())
    return 0


def _site(args, parser) -> int:
    from recur import site
    from recur.results import profile_dir
    site.build(args.notebooks_dir or profile_dir(args.profile), args.output,
               profile=args.profile)
    return 0


def _train(args, parser) -> int:
    from recur.profiles import make_config
    from recur.train import train
    try:
        config = make_config(args.profile, args.experiment, family=args.family,
                             recurrent=args.recurrent, depth=args.depth,
                             dataset=args.dataset, seed=args.seed, optimizer=args.optimizer,
                             device=args.device, **_parse_sets(args.set))
    except ValueError as err:
        parser.error(str(err))
    from recur.checkpoints import RunLocked
    try:
        record = train(config, results_dir=args.results, resume=not args.no_resume,
                       data_root=args.data_root, download=args.download, wait=args.wait)
    except RunLocked as err:
        print(f"[recur] {err}", file=sys.stderr)
        return 3
    keys = ("name", "parameters", "train_acc", "test_acc", "test_acc_per_iteration",
            "seconds", "samples_per_s", "device")
    print(json.dumps({k: record.get(k) for k in keys}, indent=1))
    return 0


def _reproduce(args, parser) -> int:
    from recur.reproduce import dry_run, reproduce
    if args.dry_run:
        try:
            checked = dry_run(args.profile, args.notebooks)
        except ValueError as err:
            parser.error(str(err))
        for s in checked:
            if s["status"] != "ok":
                print(f"[recur] FAILED {s['notebook']}: {s['error']}", file=sys.stderr)
        return 1 if any(s["status"] != "ok" for s in checked) else 0
    try:
        summaries = reproduce(args.profile, args.notebooks, args.device, args.output,
                              args.update_notebooks, fresh=args.fresh, site=not args.no_site)
    except ValueError as err:
        parser.error(str(err))
    failed = [s for s in summaries if s["status"] != "ok"]
    print(f"[recur] {len(summaries) - len(failed)} of {len(summaries)} notebooks ran; "
          f"outputs in {summaries[0]['output'].rsplit('/', 1)[0] if summaries else '-'}")
    for s in failed:
        print(f"[recur] FAILED {s['notebook']}: {s['error']}", file=sys.stderr)
    return 1 if failed else 0


_HANDLERS = {"sweep": _sweep, "site": _site, "train": _train, "reproduce": _reproduce}


def _run(args, parser) -> int:
    """Carry out the parsed command; its exit status."""
    handler = _HANDLERS.get(args.command)
    return handler(args, parser) if handler else 2


if __name__ == "__main__":
    sys.exit(main())
