"""Every way the protocol can refuse input. All fail closed; none carries a secret.

Messages describe *what* is wrong with an envelope, never its contents, so that they may be
logged and shown to a user without leaking a key, a code or plaintext.
"""


class CryptoError(Exception):
    """Base class: something cryptographic was refused."""


class UnsupportedVersion(CryptoError):
    """The envelope starts with a format version this code does not know."""


class MalformedEnvelope(CryptoError):
    """Wrong kind, wrong length, bad padding or an out-of-range parameter."""


class DecryptionFailed(CryptoError):
    """Authentication failed: tampered data, wrong key, or wrong context (case, purpose)."""


class TruncatedStream(DecryptionFailed):
    """A file stream ended before its final chunk: it was cut short."""


class WrongPassphrase(DecryptionFailed):
    """The passphrase does not open this sealed key."""


class WrongRecoveryCode(DecryptionFailed):
    """The recovery code does not open this sealed key."""


class BadSignature(CryptoError):
    """A version-2 record's signature is not its stated author's: forged or altered."""


class KeyMismatch(CryptoError):
    """An unsealed private key does not belong to the public key it was stored with."""


class CodeFormatError(CryptoError, ValueError):
    """A follow-up or recovery code was typed wrongly.

    ``reason`` is one of ``"empty"``, ``"length"``, ``"character"`` or ``"checksum"`` so the
    user interface can say what to check, without ever echoing the code.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
