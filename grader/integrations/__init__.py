"""The places students and CI work besides the terminal: notebooks, --watch, the pytest plugin."""
