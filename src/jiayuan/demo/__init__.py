"""Deterministic demo data (units, staff, grid members) for Jizhou District."""
