"""Imports and exports of the registry: Excel and CSV in, Excel lists out."""
