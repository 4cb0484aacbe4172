"""The brand console (``/console/``: HTML and assets on the public JSON API) and the reports API
behind its charts, on rollups maintained by the write-behind path."""
