"""Accounts: users, roles and scopes, sign-in, tokens and the audit log."""
