"""Outbound webhooks: a project's events POSTed, signed, to URLs it registered."""
