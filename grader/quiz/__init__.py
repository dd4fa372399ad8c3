"""Quizzes: questions a student answers in a terminal or in an answers file, graded into the
same Report as an exercise. spec (YAML), types (one class per question type, and the
QUESTION_TYPES registry every other module dispatches through), variants (each student's
numbers), grading (answers -> Report), answers (template and answers files), interactive
(the terminal), moodle and moodle_xml (Moodle XML export)."""
