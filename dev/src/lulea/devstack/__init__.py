"""lulea.devstack: the local platform as processes on loopback."""
