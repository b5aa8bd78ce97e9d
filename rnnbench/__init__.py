"""rnnbench: gradient flow in recurrent networks, measured.

Four layers, each a folder; a module imports only from its own layer and the ones below it
(tests/test_layout.py walks the imports):

    core      the model: cells, layers, stacks, backends, initialisations, tasks, atomic files
    training  one run or a stack of runs: config, the loop, clipping, probes, checkpoints   (core)
    bench     the hardware throughput benchmark and FLOP counts                            (core)
    study     the sweep, its tables, figures and reports                (core, training, bench)

``rnnbench.cli`` (the ``rnnbench`` command) sits on top of all four.
"""
