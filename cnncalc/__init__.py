"""cnncalc: cost analysis of convolutional networks written as YAML specs."""

__version__ = "0.1.0"
