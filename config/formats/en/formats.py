"""Dates for people, in every page of the site: one format, with the time zone's offset, so a
time read in the back office or on a checkout page is never ambiguous ("2026-12-01 20:35:12
+0800")."""

DATETIME_FORMAT = "Y-m-d H:i:s O"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i:s"
