"""Text shown to a person, made safe and helpful: escaped, printable, scrubbed of secrets, with
suggestions and advice.
"""
