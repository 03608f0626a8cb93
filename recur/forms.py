"""The two forms of every network, spelled one way everywhere.

``FORMS[recurrent]`` is the name shown in tables, figures, progress bars and notebooks;
a boolean ``recurrent`` is how data carries the form (configs, records, DataFrames).
``TAGS`` are the short forms inside run names (``mazes-mazes-maze-rec-d20-s0-<hash>``):
run names are file names, kept as they were so existing records and checkpoints are found.
"""
from __future__ import annotations

FORMS = {False: "feed-forward", True: "recurrent"}
TAGS = {False: "ff", True: "rec"}
