"""Jiayuan (家园): the four-level community governance and service platform."""

__version__ = "0.1.0"
