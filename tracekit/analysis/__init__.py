"""Pure roll-ups of recorded calls: aggregates, cost from the price table, per-turn metric shapes.

No I/O: the store's SQL roll-ups must equal these, and the tracer, CLI and reports build on them.
"""
