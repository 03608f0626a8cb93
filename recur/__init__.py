"""recur: runnable companion to *The Uncanny Similarity of Recurrence and Depth*.

Modules, one concern each, in floors (each imports only from the floors below it):

The core (no torch; configs, records and verdicts are read without loading a model):
  recur.checks       argument validation at the library's boundaries, in one vocabulary
  recur.forms        the one spelling of the two forms (FORMS), and the tags in run names
  recur.storage      atomic writes, validated reads, one clear error for damaged files
  recur.provenance   git commit and package versions for records and notebooks
  recur.datasets     the datasets' facts (INFO, shapes) and readers of their on-disk formats
  recur.depths       each family's valid effective depths and the paper's widths (SPEC 2)
  recur.config       TrainConfig: one frozen, validated dataclass per run
  recur.profiles     the profiles' recipes (SPEC 4) and notebook parameters; make_config
  recur.results      run records -> tidy tables, means and standard errors over seeds
  recur.findings     the decision rule: gaps, intervals, equivalence and direction verdicts
  recur.verdicts     the rule applied to tables of runs: the shapes a claim takes
  recur.planning     how many seeds a claim needs: the rule's power side, for the profiles
  recur.report       findings, facts and the rule as markdown
  recur.paper        the paper's reported numbers (Tables 1, 2, 3, 6; CKA) and the margins
  recur.claims       the paper's claims, notebook by notebook, decided by recur.verdicts
  recur.params       validation of a notebook's papermill parameters, ready-made specs

Data, models and training:
  recur.mazes        maze generation and rendering, cached splits (numpy only; 4.1)
  recur.maze_checks  every maze a tree, every label the unique path; path lengths, duplicates
  recur.phop         p-hop induction sequences, exact and seeded, disjoint splits (numpy only)
  recur.data         loading the datasets onto the device; the batch source a config reads
  recur.batches      the batch sources a run reads: images and mazes, on the device
  recur.models       every family, feed-forward and recurrent from one definition; unroll (2–4)
  recur.losses       maze and classification losses and scores
  recur.optim        SGD/Adam, warm-up and step schedule, lr / iterations for shared modules
  recur.devices      device choice, bfloat16 autocast, the DDP process group
  recur.checkpoints  atomic, checksummed checkpoints, exact RNG state, a lock per run
  recur.progress     a progress bar per run in JupyterLab and terminals, lines in logs
  recur.evaluation   a config's net (build_net) and its accuracy, per iteration (evaluate)
  recur.train        the training loop: train(config) -> run record; load_trained
  recur.batched      many seeds of one config as one batched net, each with its own record

Analyses and figures:
  recur.analysis     module features, activation reuse, linear probes, CKA (5), update sizes
  recur.visualise    feature visualisation: the input that excites a filter most (A.6)
  recur.feature_study  notebook 05's tables: probes beside the paper's, CKA, filter pictures
  recur.experiments  train a list of configs and get the table (what the notebooks call)
  recur.maze_study   notebook 03's studies: receptive fields, predictions, sizes, dilation
  recur.looped_study  notebook 06's study: the p-hop task shown and checked, update sizes
  recur.sweep        grids of runs as a SLURM or local job array (submitit)
  recur.plots        the notebooks' figures

Publishing:
  recur.executed     executed notebooks read back, and the findings they displayed
  recur.display      the findings shown in a notebook
  recur.readme       the README's generated blocks: results table, "What we found"
  recur.site         the reading site built from the executed notebooks (Sphinx, MyST-NB)
  recur.reproduce    the batch runner that executes the notebooks with papermill
"""
__version__ = "0.1.0"
