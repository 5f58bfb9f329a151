"""Notify: the outbox of SMS, e-mail and in-app messages, sent by the worker."""
