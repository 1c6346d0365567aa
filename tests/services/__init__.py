"""Throwaway real services for the test suite: PostgreSQL and Apache Kafka fixtures.

Fixtures start lazily, once per session, only when a test asks for them; see
docs/testing.md for how they are installed and how to point them at your own servers.
"""
