"""Reference solutions: trusted, run only inside the grader, never shipped to students."""
