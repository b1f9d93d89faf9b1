"""Settings from the environment, the root URLs, the WSGI application and the Jinja2 environment.

The top of the stack: it may import any app; nothing imports it (Django reads it by name).
"""
