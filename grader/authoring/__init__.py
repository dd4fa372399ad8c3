"""What instructors run on their course: validate, selftest, release, new (scaffold),
starter files."""
