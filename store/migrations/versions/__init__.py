"""Alembic revisions, named NNNN_what_it_does.py; Alembic loads them by path."""
