"""Reports: metrics, the simulation runner and its plots."""
