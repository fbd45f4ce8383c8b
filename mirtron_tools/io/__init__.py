"""The only code in mirtron_tools that opens files."""
