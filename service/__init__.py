"""The market service behind `rcm market serve`: a chain indexer into SQLite and the order
relay that answers from it."""
