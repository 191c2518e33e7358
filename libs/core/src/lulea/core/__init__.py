"""lulea.core: what every Lulea component shares."""
