"""``python -m minhbach.cli``, the same as the ``minhbach`` command."""

from minhbach.cli import main

main()
