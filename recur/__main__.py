"""Command line: ``python -m recur reproduce --profile quick [--notebooks 01 03]``."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recur", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="execute the notebooks with papermill")
    rep.add_argument("--profile", default="quick", choices=["quick", "paper"],
                     help="quick: minutes on a laptop CPU; paper: the authors' settings (GPU)")
    rep.add_argument("--notebooks", nargs="*", metavar="NN",
                     help="numbers of the notebooks to run (default: all, in order)")
    rep.add_argument("--device", help="passed to notebooks that take a device parameter")
    rep.add_argument("--output", help="folder for the executed notebooks "
                                      "(default: results/<profile>)")
    rep.add_argument("--update-notebooks", action="store_true",
                     help="also write each executed notebook back to notebooks/ "
                          "(how the committed quick-profile notebooks are made)")
    args = parser.parse_args(argv)

    if args.command == "reproduce":
        from recur.reproduce import reproduce
        try:
            summaries = reproduce(args.profile, args.notebooks, args.device, args.output,
                                  args.update_notebooks)
        except ValueError as err:
            parser.error(str(err))
        failed = [s for s in summaries if s["status"] != "ok"]
        print(f"[recur] {len(summaries) - len(failed)} of {len(summaries)} notebooks ran; "
              f"outputs in {summaries[0]['output'].rsplit('/', 1)[0] if summaries else '-'}")
        for s in failed:
            print(f"[recur] FAILED {s['notebook']}: {s['error']}", file=sys.stderr)
        return 1 if failed else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
