"""What `grade gradebook export` offers, apart from the code that writes it: the CLI names
the choices at start without loading the gradebook (exports.py writes them)."""

from __future__ import annotations

#: `grade gradebook export --format`.
EXPORT_FORMATS = ("csv", "json", "canvas", "moodle")
#: `--identifier` of a Moodle export: Moodle's user field -> (the roster's column, the
#: column's header in the file, as Moodle's own exports name it).
MOODLE_IDENTIFIERS = {
    "username": ("sis_login_id", "Username"),
    "idnumber": ("sis_user_id", "ID number"),
    "email": ("email", "Email address"),
}
