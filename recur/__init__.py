"""recur: runnable companion to *The Uncanny Similarity of Recurrence and Depth*.

Modules, one concern each:
  recur.mazes      maze generation, rendering, checking and datasets (paper section 4)
  recur.reproduce  the batch runner that executes the notebooks with papermill
"""
__version__ = "0.1.0"
