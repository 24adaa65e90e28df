"""The review app's pages, one blueprint per module: ``auth`` (login, logout) and
``home`` (the signed-in landing page)."""
