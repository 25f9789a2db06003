class Refusal(Exception):
    """A service's clear "no": a stable ``code`` for API clients and a message for people.

    Views, the API and admin actions turn it into an answer; it is never a 500.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
