"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a single line on stderr and a non-zero exit, without a
traceback; everything else is a bug and keeps its traceback under --debug.
"""


class UserError(Exception):
    """Bad input: the message names the problem and what to do about it."""
