"""Liveness (/healthz) and readiness (/readyz) for load balancers and orchestrators."""
