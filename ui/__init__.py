"""The interfaces over rag: the web chat and the command line.

``ui.render`` holds the pure formatting functions (HTML, always escaped); ``ui.handlers`` what the
page's events do; ``ui.app`` builds the Gradio app (``build_app(engine)``) and serves it
(``serve(engine, host, port)``); ``ui.cli`` is the ``rag`` command, the one layer that sees both the
library and the app. Importing this package imports neither Gradio nor rag.
"""
