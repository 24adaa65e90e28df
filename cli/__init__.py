"""The ``minhbach`` command (click): instance set-up, units, escrow keys, accounts, demo.

Modules: ``app`` (the root group), ``errors`` (turning failures into one-line messages),
``runtime`` (settings, database, finding a unit), ``params`` (option validation),
``passphrases`` (prompts and passphrase files), ``output`` (tables, private files), and
one module per command group: ``database`` (init), ``units``, ``escrow``, ``inspectors``,
``demo``, ``notify`` (the daily e-mail digest), and the others ``app`` lists.
"""

from cli.app import cli, main

__all__ = ["cli", "main"]
