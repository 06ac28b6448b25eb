"""The HTTP service: the CLI's store and contracts over REST (FastAPI, served by uvicorn).

`app.create_app` builds the application; `run.serve` starts uvicorn with it.
"""
