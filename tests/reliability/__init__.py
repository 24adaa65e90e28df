"""Nothing lost: the real apps under load, faults (killed workers, a full disk, a stopped
database), start-up races and hostile input; never a 5xx, never a half-stored report."""
