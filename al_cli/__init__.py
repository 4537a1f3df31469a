"""al: active learning with a human in the loop, from the command line."""

__version__ = "0.1.0"
