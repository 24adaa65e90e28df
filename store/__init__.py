"""Persistence: SQLAlchemy models, engine and sessions, Alembic migrations, blob storage.

Everything a reporter wrote reaches this package already encrypted by ``crypto``:
ciphertext columns and blobs are opaque bytes here, and nothing in the store decrypts,
inspects or logs them. Plaintext columns exist only for what the apps must query.

Modules: ``db`` (engines, sessions, running migrations), ``models`` (the schema),
``types`` (column types shared by the models), ``blobs`` (encrypted attachment storage),
``fs`` (private directories), ``migrations`` (the Alembic environment, shipped inside the
package).
"""
