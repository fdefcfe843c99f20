"""The one exception type for problems with data on disk or on the network.

Every problem a user can fix (a missing file, a truncated download, a file in
the wrong format) is reported as a ``DataError`` whose message is a single line
naming the file and saying what is wrong.  The command-line tools catch it,
print the message and exit with status 2, without a traceback.  Programming
mistakes (a negative count, a wrong layout name) stay ordinary ``ValueError``s.
"""


class DataError(Exception):
    """A dataset file is missing, unreadable or malformed; the message says which and why."""
