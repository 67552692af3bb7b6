"""Shochu distill stage."""
