"""A class at once: grade batch (discovery, workers) and the gradebook."""
