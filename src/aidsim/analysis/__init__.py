"""The analyses behind aidsim-analyze, aidsim-validate and aidsim-calibrate."""

COMMANDS = ("sensitivity", "discover", "whatif")
"""What aidsim-analyze does (`studies.run` runs each); here, where the command line can read it
without loading the analyses themselves."""
