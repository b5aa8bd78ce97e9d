"""Training one run or a stack of runs: the run config, the loop, clipping, optimizers, gradient
probes, checkpoints, the memory check and the `auto` backend choice. Imports rnnbench.core only."""
