"""Refusals of domain rules: a stable ``code`` for the API, a message for people."""


class CaseworkError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
