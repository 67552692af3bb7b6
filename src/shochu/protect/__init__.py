"""Shochu protect stage."""
