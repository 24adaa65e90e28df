"""Flask plumbing shared by the submit and review apps.

Security headers, error pages, languages, secret keys and database sessions: each app
installs these from its factory. Nothing here knows about reports or cases.
"""
