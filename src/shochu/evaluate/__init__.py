"""Shochu evaluate stage."""
