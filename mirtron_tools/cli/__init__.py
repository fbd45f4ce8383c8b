"""Command-line entry points: argparse only; the work happens in the library."""
