"""Traffic targets: each implements `mlgate.canary.controller.Target` (set_weights / read_weights)."""
