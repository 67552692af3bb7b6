"""Shochu export stage."""
