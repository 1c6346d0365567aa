"""Ownership handover: move a context's writes and its data's source of truth to its service.

plan.py is the pure core (steps, checks on plain values, recovery); state.py stores a run
and the CDC direction; cdc_control.py reads positions and runs the direction-obeying sync
worker; run.py performs the steps against the route store, the admin API and CDC.
"""
