"""The offline planner: a semantic parser from an operator's question to a metrics query or a
plugin tool call, with a dialogue state per conversation (:mod:`.plan` runs a turn)."""
