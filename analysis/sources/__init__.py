"""Readers for every input: DDL, a live database, query logs, .sql folders, pg exports."""
