"""Shochu ingest stage."""
