"""The Alembic environment and revisions of the minhbach schema, shipped with the package."""
