"""The model: cells (one module each), layers, stacked models, the backend registry,
initialisations, tasks, and the low-level pieces every layer uses (checks, atomic files, provenance).
Imports nothing else from rnnbench."""
