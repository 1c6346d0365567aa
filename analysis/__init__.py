"""SQL analyzer: table ownership, bounded contexts and context graphs from SQL."""
