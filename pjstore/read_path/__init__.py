"""The read path: request -> select scale -> read prefix -> decode -> scale -> orient -> encode.

Each step is one small module; `pipeline.render` runs them in that order.
"""
