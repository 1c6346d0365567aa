"""Compile a route table to production data-plane configs (nginx, Envoy)."""
