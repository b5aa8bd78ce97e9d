"""The hardware throughput benchmark (`rnnbench throughput`) and its FLOP conventions.
Imports rnnbench.core only: it times the model, not the study."""
