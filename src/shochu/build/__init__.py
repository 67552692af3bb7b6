"""Shochu build stage."""
