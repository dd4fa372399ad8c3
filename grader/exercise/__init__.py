"""Grading one exercise, in the order of the flow: spec (YAML to dataclasses), cases,
reference, compare, diagnose, shrink, prepare, grading, feedback."""
