"""Reliability: hostile input to the public app is refused with a clear 4xx, never a 5xx."""
