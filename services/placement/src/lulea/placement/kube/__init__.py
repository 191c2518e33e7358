"""Placement's side of the API server: the cluster mirror and the objects it reads."""
