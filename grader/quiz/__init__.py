"""Quizzes: questions a student answers in a terminal or in an answers file, graded into the
same Report as an exercise. spec (YAML), variants (each student's numbers), grading
(answers -> Report), answers (template and answers files), interactive (the terminal)."""
