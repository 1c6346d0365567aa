"""Change data capture: Debezium-compatible events from one database to another."""
