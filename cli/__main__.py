"""``python -m cli``, the same as the ``minhbach`` command."""

from cli import main

main()
