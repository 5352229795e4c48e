"""Find runs and simulations: the filter language, its field catalogs, and what a comparison means."""
