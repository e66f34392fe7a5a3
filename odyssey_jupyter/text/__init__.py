"""Text shown to a person, made safe and helpful: escaped, printable, scrubbed of secrets, with
suggestions and advice; and the command-line parsers whose record of their flags those
suggestions read.
"""
