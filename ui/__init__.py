"""The interfaces over rag: the web chat and the command line.

``ui.render`` holds the pure formatting functions (HTML, always escaped) and ``ui.words`` the page's
words in French and English; ``ui.handlers`` what the page's events do; ``ui.app`` builds the Gradio
app (``build_app(engine)``), with its CSS and scripts in ``ui.assets``; ``ui.serving`` serves it
(``serve(engine, host, port)``: limits, login, the file ``rag ask`` looks for); ``ui.cli`` is the
``rag`` command, the one layer that sees both the library and the app. Importing this package
imports neither Gradio nor rag.
"""
