"""ShopCo, the legacy monolith that strangler migrates (Flask + SQLAlchemy, one shared database)."""
