"""lulea.operators.project: a Project becomes a tenant (namespace, roles, quota, network policy)."""
