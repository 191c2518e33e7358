"""lulea.ca: the platform certificate authority."""
