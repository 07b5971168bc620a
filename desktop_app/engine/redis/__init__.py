"""The engine on Redis: the connection, the Lua change scripts, the store and the SharedState on it,
cross-process lockables (tokens, leases, fencing), per-process heartbeats.

Imports the engine's core (state, store, locks, persistence checks, errors) and the ``redis`` client;
nothing imports it unless a store URL is given. Never Qt.
"""
