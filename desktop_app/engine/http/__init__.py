"""HTTP for server scripts: requests/responses, routes, endpoints, and the aiohttp listener thread.

Imports the engine's jobs package (routes are jobs); never Qt. This ``__init__`` imports nothing, so
``jobs`` can use the leaf ``http.messages`` without a circle.
"""
