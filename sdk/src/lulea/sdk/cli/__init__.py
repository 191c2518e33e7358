"""The `lulea` command line (Typer + Rich), on top of lulea.sdk."""
