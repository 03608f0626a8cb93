"""recur: runnable companion to *The Uncanny Similarity of Recurrence and Depth*.

Modules, one concern each:
  recur.mazes        maze generation and rendering, cached splits (numpy only; 4.1)
  recur.maze_checks  every maze a tree, every label the unique path; path lengths, duplicates
  recur.datasets     the datasets' facts (INFO) and readers of their on-disk formats (no torch)
  recur.data         the batch sources a run reads: images and mazes, on the device
  recur.models       every family, feed-forward and recurrent from one definition; unroll (2–4)
  recur.config       TrainConfig: one frozen, validated dataclass per run
  recur.checks       argument validation at the library's boundaries, in one vocabulary
  recur.forms        the one spelling of the two forms (FORMS), and the tags in run names
  recur.profiles     the quick and paper settings as tables (SPEC 4); make_config
  recur.losses       maze and classification losses and scores
  recur.optim        SGD/Adam, warm-up and step schedule, lr / iterations for shared modules
  recur.devices      device choice, bfloat16 autocast, the DDP process group
  recur.checkpoints  atomic, checksummed checkpoints, exact RNG state, a lock per run
  recur.progress     a progress bar per run in JupyterLab and terminals, lines in logs
  recur.train        the training loop: train(config) -> run record; evaluate; load_trained
  recur.results      run records -> tidy tables, means and standard errors over seeds
  recur.experiments  train a list of configs and get the table (what the notebooks call)
  recur.findings     the decision rule: gaps, intervals, equivalence and direction verdicts
  recur.claims       the paper's claims, notebook by notebook, decided by recur.findings
  recur.paper        the paper's reported numbers (Tables 1, 2, 3, 6; CKA), one source for
                     the notebooks
  recur.analysis     activation reuse, linear probes, CKA, feature visualisation (5)
  recur.feature_study  notebook 05's tables: probes beside the paper's, CKA, filter pictures
  recur.plots        the notebooks' figures
  recur.params       validation of a notebook's papermill parameters, ready-made specs
  recur.sweep        grids of runs as a SLURM or local job array (submitit)
  recur.reproduce    the batch runner that executes the notebooks with papermill
  recur.readme       the README's generated blocks: results table, "What we found"
  recur.site         the reading site built from the executed notebooks (Sphinx, MyST-NB)
  recur.provenance   git commit and package versions for records and notebooks
  recur.storage      atomic writes, validated reads, one clear error for damaged files
"""
__version__ = "0.1.0"
