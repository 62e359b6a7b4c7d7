"""Accounts: users, sign-in (session cookie or personal API token), CSRF, authorization helpers."""
