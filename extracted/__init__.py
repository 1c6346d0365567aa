"""Services extracted from the monolith, one package each."""
