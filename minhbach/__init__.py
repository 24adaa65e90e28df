"""minhbach: anonymous whistleblower submission with end-to-end encryption."""

__version__ = "0.1.0"
