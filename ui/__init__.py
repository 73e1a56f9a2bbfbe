"""The web chat over a rag :class:`~rag.Engine`.

``ui.render`` holds the pure formatting functions (HTML, always escaped); ``ui.app`` builds the
Gradio app (``build_app(engine)``) and serves it (``serve(engine, host, port)``, used by
``rag serve``). Importing this package does not import Gradio.
"""
