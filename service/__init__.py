"""The market service behind `rcm market serve`: a chain indexer into SQLite, and the order
relay and the dashboard that answer from it."""
