"""Operating the controller: readiness, Prometheus metrics, the access log, the console.

Each module hands server.py what it adds (routes, a middleware) through one function, so
the wiring stays in server.py and nothing here registers itself on import."""
