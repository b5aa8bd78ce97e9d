"""The hardware throughput benchmark (`rnnbench throughput`) and its FLOP conventions, and the matching of
throughput tables across machines (`rnnbench compare`). Imports rnnbench.core only: it times the model, not the study."""
